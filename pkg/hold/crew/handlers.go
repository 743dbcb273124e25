package crew

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
	"atcr.io/pkg/atproto/serviceauth"
	"atcr.io/pkg/atproto/xrpc"
)

// maxJoinBody bounds the requestCrew input; the real body is a few dozen bytes.
const maxJoinBody = 16 << 10

// Handlers serves the crew and quota XRPC methods of a Service.
type Handlers struct {
	s *Service
}

// NewHandlers returns the HTTP handlers for s.
func NewHandlers(s *Service) *Handlers { return &Handlers{s: s} }

// Routes lists the crew and quota methods: listTiers is public,
// requestCrew and getQuota need a service token and decide access
// themselves.
func (h *Handlers) Routes() []xrpc.Route {
	return []xrpc.Route{
		{Method: http.MethodPost, NSID: atcr.HoldRequestCrewNSID, Auth: xrpc.ServiceAuth, Handler: http.HandlerFunc(h.RequestCrew)},
		{Method: http.MethodGet, NSID: atcr.HoldListTiersNSID, Auth: xrpc.Public, Handler: http.HandlerFunc(h.ListTiers)},
		{Method: http.MethodGet, NSID: atcr.HoldGetQuotaNSID, Auth: xrpc.ServiceAuth, Handler: http.HandlerFunc(h.GetQuota)},
	}
}

// RequestCrew serves io.atcr.hold.requestCrew behind mandatory service
// auth; the caller is the token's issuer.
func (h *Handlers) RequestCrew(w http.ResponseWriter, r *http.Request) {
	caller, _ := serviceauth.CallerDID(r.Context())
	in, err := decodeJoin(r)
	if err != nil {
		xrpc.WriteError(w, err)
		return
	}
	m, created, err := h.s.Join(r.Context(), caller, in.Role, in.Permissions)
	if err != nil {
		xrpc.WriteError(w, err)
		return
	}
	out := atcr.HoldRequestCrew_Output{Status: "already_member", URI: m.URI.String(), CID: m.CID,
		Message: "already a crew member as " + m.Role}
	if created {
		out.Status, out.Message = "created", "joined the crew as "+m.Role
	}
	_ = xrpc.WriteJSON(w, http.StatusOK, out)
}

// decodeJoin reads the optional requestCrew input.
func decodeJoin(r *http.Request) (atcr.HoldRequestCrew_Input, error) {
	var in atcr.HoldRequestCrew_Input
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxJoinBody+1))
	if err != nil {
		return in, xrpc.InvalidRequest("could not read the request body")
	}
	if len(raw) > maxJoinBody {
		return in, xrpc.PayloadTooLarge("request body too large")
	}
	if len(raw) == 0 {
		return in, nil
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		return in, xrpc.InvalidRequest("request body is not a JSON object")
	}
	if err := schema.ValidateInput(atcr.HoldRequestCrewNSID, body); err != nil {
		return in, xrpc.InvalidRequest(err.Error())
	}
	if err := schema.UnmarshalExact(raw, body, &in); err != nil {
		return in, xrpc.InvalidRequest(err.Error())
	}
	return in, nil
}

// ListTiers serves io.atcr.hold.listTiers (public).
func (h *Handlers) ListTiers(w http.ResponseWriter, r *http.Request) {
	tiers := h.s.Tiers()
	out := atcr.HoldListTiers_Output{Tiers: []atcr.HoldListTiers_TierInfo{}}
	if tiers != nil {
		out.DefaultTier = tiers.Default
	}
	for _, t := range tiers.List() {
		out.Tiers = append(out.Tiers, atcr.HoldListTiers_TierInfo{
			Name: t.Name, QuotaBytes: t.QuotaBytes, QuotaFormatted: FormatBytes(t.QuotaBytes), ScanOnPush: t.ScanOnPush,
		})
	}
	_ = xrpc.WriteJSON(w, http.StatusOK, out)
}

// GetQuota serves io.atcr.hold.getQuota behind mandatory service auth; a
// caller may read their own quota, the owner and crew admins anyone's.
func (h *Handlers) GetQuota(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	user, err := syntax.ParseDID(r.URL.Query().Get("userDid"))
	if err != nil {
		xrpc.WriteError(w, xrpc.InvalidRequest("userDid must be a DID"))
		return
	}
	caller, _ := serviceauth.CallerDID(ctx)
	if caller != user {
		if err := h.s.CanAdmin(ctx, caller); err != nil {
			var xe *xrpc.Error
			if errors.As(err, &xe) && xe.Status == http.StatusForbidden {
				err = xrpc.Forbidden("only the user, the hold owner and crew admins may read a user's quota")
			}
			xrpc.WriteError(w, err)
			return
		}
	}
	limit, tier, err := h.s.Limit(ctx, user)
	if err != nil {
		xrpc.WriteError(w, err)
		return
	}
	used, err := h.s.Usage(ctx, user)
	if err != nil {
		xrpc.WriteError(w, err)
		return
	}
	out := atcr.HoldGetQuota_Output{UserDID: user.String(), Used: used, Tier: tier}
	if limit >= 0 {
		out.Limit = &limit
	}
	_ = xrpc.WriteJSON(w, http.StatusOK, out)
}
