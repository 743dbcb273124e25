package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxTokenBody bounds the token endpoint's answer.
const maxTokenBody = 64 << 10

// authorize returns the Authorization header value to send, given the 401
// response to an anonymous request: a Bearer token fetched once from the
// challenge's realm, or Basic credentials. "" means no auth is needed.
func authorize(ctx context.Context, client *http.Client, cfg Config, resp *http.Response) (string, error) {
	if resp.StatusCode != http.StatusUnauthorized {
		return "", nil
	}
	scheme, params := parseChallenge(resp.Header.Get("WWW-Authenticate"))
	switch strings.ToLower(scheme) {
	case "basic":
		if cfg.Username == "" {
			return "", fmt.Errorf("registry wants Basic auth and MANIFESTLOAD_USERNAME is empty")
		}
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password)), nil
	case "bearer":
		token, err := fetchToken(ctx, client, cfg, params)
		if err != nil {
			return "", err
		}
		return "Bearer " + token, nil
	}
	return "", fmt.Errorf("401 with an unusable challenge %q", resp.Header.Get("WWW-Authenticate"))
}

// fetchToken asks the challenge's realm for a pull token (Docker token auth),
// with Basic credentials when there are any.
func fetchToken(ctx context.Context, client *http.Client, cfg Config, params map[string]string) (string, error) {
	realm, err := url.Parse(params["realm"])
	if err != nil || (realm.Scheme != "http" && realm.Scheme != "https") || realm.Host == "" {
		return "", fmt.Errorf("bearer challenge has no usable realm %q", params["realm"])
	}
	q := realm.Query()
	if s := params["service"]; s != "" {
		q.Set("service", s)
	}
	scope := params["scope"]
	if scope == "" {
		scope = "repository:" + cfg.Repo + ":pull"
	}
	q.Set("scope", scope)
	realm.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, realm.String(), nil)
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	if cfg.Username != "" {
		req.SetBasicAuth(cfg.Username, cfg.Password)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if err != nil {
		return "", fmt.Errorf("read token response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token endpoint %s answered %d: %.200s", realm.Redacted(), resp.StatusCode, body)
	}
	var tok struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		return "", fmt.Errorf("decode token response: %w", err)
	}
	if tok.Token != "" {
		return tok.Token, nil
	}
	if tok.AccessToken != "" {
		return tok.AccessToken, nil
	}
	return "", fmt.Errorf("token response has neither token nor access_token")
}

// parseChallenge splits `Bearer realm="…",service="…",scope="…"` into the
// scheme and its parameters. Quoted values may contain commas and escaped
// quotes; unquoted values end at a comma.
func parseChallenge(h string) (string, map[string]string) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	params := map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; {
		key, after, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		key = strings.ToLower(strings.TrimSpace(key))
		var val string
		if strings.HasPrefix(after, `"`) {
			val, rest = readQuoted(after[1:])
		} else {
			val, rest, _ = strings.Cut(after, ",")
			val = strings.TrimSpace(val)
		}
		params[key] = val
		rest = strings.TrimLeft(rest, ", ")
	}
	return scheme, params
}

// readQuoted reads up to the closing quote of s (whose opening quote is
// already consumed) and returns the value and what follows it.
func readQuoted(s string) (string, string) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:]
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), ""
}
