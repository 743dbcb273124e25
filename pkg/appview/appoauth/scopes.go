package appoauth

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// ErrInvalidScope is returned (wrapped) by ResolveScopes for a configured
// scope the PDS would refuse or silently ignore.
var ErrInvalidScope = errors.New("invalid OAuth scope")

// ScopeAtproto is the scope every atproto OAuth request must carry.
const ScopeAtproto = "atproto"

// GenericScopes is what oauth.fallback_generic requests: the broad
// app-password-like grant, for PDSes without granular scopes.
var GenericScopes = []string{ScopeAtproto, "transition:generic"}

// DefaultScopes is the granular set requested when oauth.scopes is empty:
// the record collections ATCR writes, blobs (the manifest bytes) and the
// service tokens the AppView mints for holds. The reference PDS takes an
// rpc lxm only as "*" or a full NSID: rpc:io.atcr.hold.*?aud=* passes PAR
// but is left out of the grant (test/e2e/scopes_test.go), and rpc:*?aud=*
// is refused, so every hold method the AppView calls is listed.
// aud=* because a user may push to any hold; an aud naming one hold must be
// did#fragment (a bare DID is dropped the same way).
var DefaultScopes = []string{
	ScopeAtproto,
	"repo:io.atcr.manifest",
	"repo:io.atcr.tag",
	"repo:io.atcr.sailor.profile",
	"repo:io.atcr.sailor.star",
	"repo:io.atcr.repo.page",
	"blob:*/*",
	"rpc:io.atcr.hold.initiateUpload?aud=*",
	"rpc:io.atcr.hold.getPartUploadUrl?aud=*",
	"rpc:io.atcr.hold.uploadPart?aud=*",
	"rpc:io.atcr.hold.completeUpload?aud=*",
	"rpc:io.atcr.hold.abortUpload?aud=*",
	"rpc:io.atcr.hold.notifyManifest?aud=*",
	"rpc:io.atcr.hold.notifyManifestDeleted?aud=*",
	"rpc:io.atcr.hold.getQuota?aud=*",
	"rpc:io.atcr.hold.requestCrew?aud=*",
	"rpc:io.atcr.hold.listTiers?aud=*",
	"rpc:com.atproto.sync.getBlob?aud=*",
}

// ResolveScopes turns the oauth config keys into the scope list to request:
// GenericScopes when fallbackGeneric is set, DefaultScopes when configured
// is empty, otherwise configured (duplicates dropped, order kept) after
// validation. It refuses what the PDS would drop without telling anyone:
// an rpc aud that is neither "*" nor did#fragment, a partial lxm wildcard,
// rpc:*?aud=*, and a list without "atproto".
func ResolveScopes(configured []string, fallbackGeneric bool) ([]string, error) {
	if fallbackGeneric {
		if len(configured) > 0 {
			return nil, fmt.Errorf("%w: set either oauth.scopes or oauth.fallback_generic, not both", ErrInvalidScope)
		}
		return slices.Clone(GenericScopes), nil
	}
	if len(configured) == 0 {
		return slices.Clone(DefaultScopes), nil
	}
	var out []string
	var errs []error
	for _, s := range configured {
		if slices.Contains(out, s) {
			continue
		}
		if err := validateScope(s); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, s)
	}
	if !slices.Contains(out, ScopeAtproto) {
		errs = append(errs, fmt.Errorf("%w: the scope list must include %q", ErrInvalidScope, ScopeAtproto))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// validateScope checks one scope string. Only rpc scopes have rules here:
// the others are passed to the PDS as they are.
func validateScope(s string) error {
	if s == "" || strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("%w: %q must be non-empty and contain no spaces", ErrInvalidScope, s)
	}
	resource, positional, query := splitScope(s)
	if resource != "rpc" {
		return nil
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return fmt.Errorf("%w: %q: %w", ErrInvalidScope, s, err)
	}
	lxms := params["lxm"]
	if positional != "" {
		lxms = append(lxms, positional)
	}
	if len(lxms) == 0 {
		return fmt.Errorf("%w: %q names no method (rpc:<nsid>?aud=…)", ErrInvalidScope, s)
	}
	for _, lxm := range lxms {
		if lxm != "*" && strings.Contains(lxm, "*") {
			return fmt.Errorf("%w: %q: partial wildcard %q; the PDS only matches \"*\" or a full NSID, list each method", ErrInvalidScope, s, lxm)
		}
	}
	auds := params["aud"]
	if len(auds) != 1 {
		return fmt.Errorf("%w: %q needs exactly one aud (\"*\" or did#fragment)", ErrInvalidScope, s)
	}
	aud := auds[0]
	switch {
	case aud == "*":
		if slices.Contains(lxms, "*") {
			return fmt.Errorf("%w: %q: the PDS refuses rpc:*?aud=*", ErrInvalidScope, s)
		}
	case !strings.HasPrefix(aud, "did:"):
		return fmt.Errorf("%w: %q: aud %q is not a DID", ErrInvalidScope, s, aud)
	case !strings.Contains(aud, "#"):
		return fmt.Errorf("%w: %q: aud %q is a bare DID, which the PDS silently drops; use \"*\" or the service, e.g. %s%%23atcr_hold",
			ErrInvalidScope, s, aud, aud)
	}
	return nil
}

// splitScope splits "resource[:positional][?query]".
func splitScope(s string) (resource, positional, query string) {
	rest, query, _ := strings.Cut(s, "?")
	resource, positional, _ = strings.Cut(rest, ":")
	return resource, positional, query
}

// normalizeScope gives equivalent spellings one form: the query parameters
// sorted (the PDS may reorder them) and percent-escapes decoded.
func normalizeScope(s string) string {
	rest, query, ok := strings.Cut(s, "?")
	if !ok {
		return s
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return s
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(rest)
	for i, k := range keys {
		vals := slices.Clone(params[k])
		slices.Sort(vals)
		for j, v := range vals {
			if i == 0 && j == 0 {
				b.WriteByte('?')
			} else {
				b.WriteByte('&')
			}
			b.WriteString(k + "=" + v)
		}
	}
	return b.String()
}

// ScopesCover reports whether a grant serves the configured scopes,
// comparing sets, not strings: order, parameter order and extra granted
// scopes (a PDS expands include: permission sets into their members) do
// not matter, but a configured scope the grant lacks does. An include:
// scope cannot be checked against its expansion without resolving the
// permission set, so it is skipped here; the requested-scope comparison
// (SameScopes) catches a changed include:.
func ScopesCover(configured, granted []string) bool {
	have := make(map[string]bool, len(granted))
	for _, g := range granted {
		if g = strings.TrimSpace(g); g != "" {
			have[normalizeScope(g)] = true
		}
	}
	for _, c := range configured {
		if strings.HasPrefix(c, "include:") {
			continue
		}
		if !have[normalizeScope(c)] {
			return false
		}
	}
	return true
}

// SameScopes reports whether two scope lists are the same set.
func SameScopes(a, b []string) bool {
	set := func(list []string) map[string]bool {
		m := make(map[string]bool, len(list))
		for _, s := range list {
			if s = strings.TrimSpace(s); s != "" {
				m[normalizeScope(s)] = true
			}
		}
		return m
	}
	sa, sb := set(a), set(b)
	if len(sa) != len(sb) {
		return false
	}
	for s := range sa {
		if !sb[s] {
			return false
		}
	}
	return true
}
