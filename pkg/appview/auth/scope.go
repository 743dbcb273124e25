package auth

import (
	"slices"
	"strings"

	"atcr.io/pkg/appview/access"
	"atcr.io/pkg/oci"
)

// Limits on what a token request may ask for. Docker asks for one or two
// scopes (a mount adds the source repository); the caps keep a hostile
// request from making the service resolve thousands of handles.
const (
	maxScopes      = 32
	maxScopeLength = 512
)

// catalogName is the only resource of type registry.
const catalogName = "catalog"

// parseScopes reads the scope values of a token request. Each value may hold
// several space-separated scopes (the OAuth2 form does). The grammar is
// distribution's:
//
//	scope         := resourcetype ["(" class ")"] ":" resourcename ":" action [ "," action ]*
//
// The resource name sits between the first and the last colon, so DIDs
// ("repository:did:plc:abc/app:pull") parse. Repository names are validated
// and canonicalised with oci.ParseRepository. Malformed scopes, unknown
// resource types, invalid names and unknown actions are ignored — the token
// simply does not grant them and the registry request that needs them is
// refused with the proper error — rather than failing the whole request.
// Scopes beyond maxScopes are ignored as well.
func parseScopes(values []string) []access.Access {
	var out []access.Access
	seen := 0
	for _, v := range values {
		for _, scope := range strings.Fields(v) {
			if seen++; seen > maxScopes {
				return out
			}
			for _, a := range parseScope(scope) {
				if !slices.Contains(out, a) {
					out = append(out, a)
				}
			}
		}
	}
	return out
}

// parseScope parses one scope into one Access per recognised action.
func parseScope(scope string) []access.Access {
	if len(scope) > maxScopeLength {
		return nil
	}
	first, last := strings.Index(scope, ":"), strings.LastIndex(scope, ":")
	if first < 0 || first == last {
		return nil
	}
	typ, name, actions := scope[:first], scope[first+1:last], scope[last+1:]
	// A resource class ("repository(plugin)") does not change access here.
	if open := strings.IndexByte(typ, '('); open >= 0 && strings.HasSuffix(typ, ")") {
		typ = typ[:open]
	}
	switch typ {
	case access.TypeRepository:
		repo, err := oci.ParseRepository(name)
		if err != nil {
			return nil
		}
		name = repo.String()
	case access.TypeRegistry:
		if name != catalogName {
			return nil
		}
	default:
		return nil
	}
	var out []access.Access
	for _, action := range strings.Split(actions, ",") {
		switch {
		case typ == access.TypeRegistry && action != access.ActionAll:
			// The catalog has one action, "*" (read the repository list).
		case action == access.ActionPull, action == access.ActionPush, action == access.ActionDelete, action == access.ActionAll:
			out = append(out, access.Access{Type: typ, Name: name, Action: action})
		}
	}
	return out
}

// formatScopes renders wanted access as challenge scopes, one per resource:
// "repository:alice.test/app:pull,push".
func formatScopes(want []access.Access) string {
	parts := make([]string, 0, len(want))
	for _, ra := range groupAccess(want) {
		parts = append(parts, ra.Type+":"+ra.Name+":"+strings.Join(ra.Actions, ","))
	}
	return strings.Join(parts, " ")
}
