package devices

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"
)

// maxRequestBytes bounds the JSON or form body of the device endpoints.
const maxRequestBytes = 16 << 10

// Paths of the device endpoints and the approval page.
const (
	CodePath   = "/auth/device/code"
	TokenPath  = "/auth/device/token"
	VerifyPath = "/device"
)

// codeResponse is the body of POST /auth/device/code (RFC 8628 §3.2).
type codeResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// tokenResponse is the body of a successful POST /auth/device/token.
type tokenResponse struct {
	DeviceSecret string `json:"device_secret"`
	TokenType    string `json:"token_type"`
	DID          string `json:"did"`
	Handle       string `json:"handle"`
	DeviceID     string `json:"device_id"`
	Registry     string `json:"registry"`
}

// CodeHandler serves POST /auth/device/code: {"client_name": …} (JSON or
// form) starts a request.
func (s *Service) CodeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := readParams(w, r)
		if err != nil {
			writeError(w, http.StatusBadRequest, ErrInvalidRequest.Code, err.Error())
			return
		}
		a, err := s.Start(r.Context(), in.Get("client_name"), s.remoteAddr(r))
		var fe *FlowError
		switch {
		case errors.As(err, &fe):
			writeError(w, http.StatusBadRequest, fe.Code, fe.Description)
			return
		case errors.Is(err, ErrTooManyPending):
			writeError(w, http.StatusTooManyRequests, "slow_down", err.Error())
			return
		case err != nil:
			s.log.ErrorContext(r.Context(), "devices: start", "err", err)
			writeError(w, http.StatusInternalServerError, "server_error", "could not start the device login")
			return
		}
		code := FormatUserCode(a.UserCode)
		writeJSON(w, http.StatusOK, codeResponse{
			DeviceCode:              a.DeviceCode,
			UserCode:                code,
			VerificationURI:         s.baseURL + VerifyPath,
			VerificationURIComplete: s.baseURL + VerifyPath + "?user_code=" + url.QueryEscape(code),
			ExpiresIn:               int64(a.ExpiresIn / time.Second),
			Interval:                int64(a.Interval / time.Second),
		})
	})
}

// TokenHandler serves POST /auth/device/token: {"device_code": …} polls.
func (s *Service) TokenHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := readParams(w, r)
		if err != nil {
			writeError(w, http.StatusBadRequest, ErrInvalidRequest.Code, err.Error())
			return
		}
		issued, err := s.Poll(r.Context(), in.Get("device_code"))
		var fe *FlowError
		switch {
		case errors.As(err, &fe):
			writeError(w, http.StatusBadRequest, fe.Code, fe.Description)
			return
		case err != nil:
			s.log.ErrorContext(r.Context(), "devices: poll", "err", err)
			writeError(w, http.StatusInternalServerError, "server_error", "could not check the device login")
			return
		}
		writeJSON(w, http.StatusOK, tokenResponse{DeviceSecret: issued.Secret, TokenType: "device_secret",
			DID: issued.DID.String(), Handle: issued.Handle, DeviceID: issued.DeviceID, Registry: issued.Registry})
	})
}

// readParams reads a JSON object of strings or a form body.
func readParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var in map[string]any
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil && !errors.Is(err, io.EOF) {
			return nil, errors.New("malformed JSON body")
		}
		out := url.Values{}
		for k, v := range in {
			if s, ok := v.(string); ok {
				out.Set(k, s)
			}
		}
		return out, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, errors.New("malformed form body")
	}
	return r.PostForm, nil
}

// remoteAddr is the client's address as a device request records and
// shows it (clientaddr.Resolver.Addr).
func (s *Service) remoteAddr(r *http.Request) string {
	if addr := s.addrs.Addr(r); addr.IsValid() {
		return addr.String()
	}
	return r.RemoteAddr
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}
