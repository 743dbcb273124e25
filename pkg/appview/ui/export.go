package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/atproto/atcr"
)

const exportPath = "/settings/export"

// exportFormat names the export document's shape; it changes when a field
// changes meaning.
const exportFormat = "atcr-appview-export/1"

// exportedCollections are the io.atcr.* collections of a user's own
// repository (the hold's collections live in the holds' repositories).
var exportedCollections = []string{
	atcr.ManifestNSID, atcr.TagNSID, atcr.RepoPageNSID, atcr.SailorProfileNSID, atcr.SailorStarNSID, atcr.HoldNSID,
}

// exportDoc is the data export: everything this AppView stores about the
// signed-in user, and where their records are. Rows are as stored (times
// in unix seconds); no token, key, hash or secret of any kind is in it.
type exportDoc struct {
	Format     string `json:"format"`
	ExportedAt string `json:"exportedAt"`
	AppView    string `json:"appview"`
	DID        string `json:"did"`
	Handle     string `json:"handle"`
	// Account is the AppView's own tables: browser, OAuth and app-password
	// session metadata, device requests, the profile check, blob unlinks.
	Account db.AccountExport `json:"account"`
	Devices []exportDevice   `json:"devices"`
	// Index is the rows of the UI index the account owns; absent without
	// an index.
	Index   map[string][]map[string]any `json:"index,omitempty"`
	Records exportRecords               `json:"records"`
}

type exportDevice struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	RemoteAddr string `json:"remoteAddr"`
	Added      string `json:"added"`
	LastUsed   string `json:"lastUsed,omitempty"`
}

// exportRecords links the user's records: the AT-URIs of the records the
// index knows, and each collection's listRecords URL at their PDS (the
// records themselves are theirs, in their repository, not this AppView's).
type exportRecords struct {
	PDS         string             `json:"pds,omitempty"`
	Note        string             `json:"note,omitempty"`
	Collections []exportCollection `json:"collections"`
	URIs        []string           `json:"uris"`
}

type exportCollection struct {
	Collection  string `json:"collection"`
	ListRecords string `json:"listRecords,omitempty"`
}

// export (GET /settings/export) downloads the signed-in user's data export
// as JSON. It is only ever the signed-in user's: the DID comes from the
// browser session, never from the request.
func (ui *UI) export(w http.ResponseWriter, r *http.Request) {
	sess := ui.requireBrowserSession(w, r)
	if sess == nil {
		return
	}
	ctx := r.Context()
	did := sess.DID.String()
	doc := exportDoc{Format: exportFormat, ExportedAt: ui.now().UTC().Format(time.RFC3339), AppView: ui.origin,
		DID: did, Handle: sess.Handle, Devices: []exportDevice{}}
	var err error
	if doc.Account, err = db.ExportAccount(ctx, ui.db, did); err != nil {
		ui.exportFail(w, r, err)
		return
	}
	list, err := ui.devices.List(ctx, sess.DID)
	if err != nil {
		ui.exportFail(w, r, err)
		return
	}
	for _, d := range list {
		v := exportDevice{ID: d.ID, Name: d.Name, RemoteAddr: d.RemoteAddr, Added: d.CreatedAt.UTC().Format(time.RFC3339)}
		if !d.LastUsedAt.IsZero() {
			v.LastUsed = d.LastUsedAt.UTC().Format(time.RFC3339)
		}
		doc.Devices = append(doc.Devices, v)
	}
	if ui.index != nil {
		if doc.Index, err = ui.index.ExportAccount(ctx, did); err != nil {
			ui.exportFail(w, r, err)
			return
		}
	}
	doc.Records = ui.exportRecords(ctx, sess, doc.Index)
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		ui.exportFail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="atcr-export-`+did+`.json"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body.Bytes())
}

// exportRecords lists the records' AT-URIs from the index rows and the
// listRecords URL of each collection at the user's PDS (the host of their
// session's client; without one, only the AT-URIs).
func (ui *UI) exportRecords(ctx context.Context, sess *BrowserSession, rows map[string][]map[string]any) exportRecords {
	did := sess.DID.String()
	out := exportRecords{URIs: []string{}}
	clients := ui.profiles
	if clients == nil {
		clients = ui.stars
	}
	if clients != nil {
		if c, err := clients.Client(ctx, sess.DID); err == nil {
			out.PDS = strings.TrimSuffix(c.Host, "/")
		} else {
			ui.log.InfoContext(ctx, "ui: export without the PDS's address", "did", did, "err", err)
		}
	}
	if out.PDS == "" {
		out.Note = "Your PDS's address was not known here (no active session); list your records from your PDS with com.atproto.repo.listRecords."
	}
	for _, coll := range exportedCollections {
		c := exportCollection{Collection: coll}
		if out.PDS != "" {
			c.ListRecords = out.PDS + "/xrpc/com.atproto.repo.listRecords?" + url.Values{"repo": {did}, "collection": {coll}}.Encode()
		}
		out.Collections = append(out.Collections, c)
	}
	for table, coll := range map[string]string{"manifests": atcr.ManifestNSID, "tags": atcr.TagNSID, "repo_pages": atcr.RepoPageNSID, "stars": atcr.SailorStarNSID} {
		for _, row := range rows[table] {
			if rkey, ok := row["rkey"].(string); ok {
				out.URIs = append(out.URIs, "at://"+did+"/"+coll+"/"+rkey)
			}
		}
	}
	if users := rows["users"]; len(users) == 1 && users[0]["default_hold"] != "" {
		out.URIs = append(out.URIs, "at://"+did+"/"+atcr.SailorProfileNSID+"/"+profileRKey)
	}
	slices.Sort(out.URIs)
	return out
}

func (ui *UI) exportFail(w http.ResponseWriter, r *http.Request, err error) {
	ui.log.ErrorContext(r.Context(), "ui: export", "err", err)
	ui.fail(w, r, http.StatusInternalServerError, "Something went wrong", "The export could not be made; try again.")
}
