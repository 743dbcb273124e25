package index

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
)

// Annotations kept from a manifest record: the OCI image keys and ATCR's
// own (io.atcr.readme, io.atcr.icon), at most maxAnnotations of them, each
// value at most maxAnnotationValue bytes (longer values are dropped, not
// cut, so no half-URL is ever shown).
const (
	maxAnnotations     = 32
	maxAnnotationValue = 4096
)

// keptAnnotations filters a record's annotations to what the UI shows.
func keptAnnotations(in map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range in {
		s, ok := v.(string)
		if !ok || len(s) > maxAnnotationValue || len(k) > maxShortText {
			continue
		}
		if !strings.HasPrefix(k, "org.opencontainers.image.") && !strings.HasPrefix(k, "io.atcr.") {
			continue
		}
		if len(out) == maxAnnotations {
			break
		}
		out[k] = s
	}
	return out
}

// manifestSize is what the UI shows as a manifest's size: config plus
// layers for an image, the children's sizes for an index.
func manifestSize(m *atcr.Manifest) int64 {
	var n int64
	if m.Config != nil {
		n += m.Config.Size
	}
	for _, l := range m.Layers {
		n += l.Size
	}
	for _, c := range m.Manifests {
		n += c.Size
	}
	return n
}

func parseTime(s string) time.Time {
	t, err := syntax.ParseDatetime(s)
	if err != nil {
		return time.Time{}
	}
	return t.Time()
}

func (s *Store) putManifest(ctx context.Context, tx *sql.Tx, did syntax.DID, rkey, cid string, m *atcr.Manifest) error {
	oldRepo, err := s.manifestRepository(ctx, tx, did, rkey)
	if err != nil {
		return err
	}
	annotations, err := json.Marshal(keptAnnotations(m.Annotations))
	if err != nil {
		return fmt.Errorf("encode annotations: %w", err)
	}
	subject := ""
	if m.Subject != nil {
		subject = m.Subject.Digest
	}
	// Children go with their manifest: replaced whole on every put.
	if oldRepo != "" {
		for _, table := range []string{"layers", "manifest_references"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE did = ? AND manifest_rkey = ?`, did.String(), rkey); err != nil {
				return fmt.Errorf("clear %s: %w", table, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO manifests
		(did, rkey, repository, digest, media_type, artifact_type, hold_did, size, subject_digest, annotations, created_at, cid)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (did, rkey) DO UPDATE SET repository = excluded.repository, digest = excluded.digest,
			media_type = excluded.media_type, artifact_type = excluded.artifact_type, hold_did = excluded.hold_did,
			size = excluded.size, subject_digest = excluded.subject_digest, annotations = excluded.annotations,
			created_at = excluded.created_at, cid = excluded.cid`,
		did.String(), rkey, m.Repository, m.Digest, m.MediaType, m.ArtifactType, m.HoldDID, manifestSize(m),
		subject, string(annotations), s.clamp(parseTime(m.CreatedAt)), cid); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := insertLayers(ctx, tx, did, rkey, m.Layers); err != nil {
		return err
	}
	if err := insertChildren(ctx, tx, did, rkey, m.Manifests); err != nil {
		return err
	}
	// Tags that named this record before it arrived learn its digest.
	if _, err := tx.ExecContext(ctx, `UPDATE tags SET digest = ? WHERE did = ? AND manifest_rkey = ?`,
		m.Digest, did.String(), rkey); err != nil {
		return fmt.Errorf("resolve tags: %w", err)
	}
	if err := s.ensureUser(ctx, tx, did); err != nil {
		return err
	}
	if oldRepo != "" && oldRepo != m.Repository {
		if err := s.refreshRepository(ctx, tx, did, oldRepo, true); err != nil {
			return err
		}
	}
	return s.refreshRepository(ctx, tx, did, m.Repository, true)
}

func (s *Store) deleteManifest(ctx context.Context, tx *sql.Tx, did syntax.DID, rkey string) error {
	repo, err := s.manifestRepository(ctx, tx, did, rkey)
	if err != nil || repo == "" {
		return err
	}
	// layers and manifest_references go by ON DELETE CASCADE.
	if _, err := tx.ExecContext(ctx, `DELETE FROM manifests WHERE did = ? AND rkey = ?`, did.String(), rkey); err != nil {
		return fmt.Errorf("delete manifest: %w", err)
	}
	return s.refreshRepository(ctx, tx, did, repo, true)
}

// manifestRepository is the repository of an indexed manifest record, ""
// when it is not indexed.
func (s *Store) manifestRepository(ctx context.Context, tx *sql.Tx, did syntax.DID, rkey string) (string, error) {
	var repo string
	err := tx.QueryRowContext(ctx, `SELECT repository FROM manifests WHERE did = ? AND rkey = ?`, did.String(), rkey).Scan(&repo)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read manifest: %w", err)
	}
	return repo, nil
}

// insertLayers writes a manifest's layers in one statement (at most
// maxDescriptors rows of 6 values, far below SQLite's bound-value limit):
// parsing the SQL is most of what a statement costs here. A row already
// there is overwritten: on PostgreSQL two writers (an AppView's push path
// and the Jetstream consumer) may index the same new manifest at once, and
// the second finds the first one's rows after its manifest upsert waited
// for it.
func insertLayers(ctx context.Context, tx *sql.Tx, did syntax.DID, rkey string, layers []atcr.Manifest_BlobReference) error {
	if len(layers) == 0 {
		return nil
	}
	args := make([]any, 0, 6*len(layers))
	for i, l := range layers {
		args = append(args, did.String(), rkey, i, l.Digest, l.Size, l.MediaType)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO layers (did, manifest_rkey, position, digest, size, media_type) VALUES `+
		valuesList(len(layers), 6)+`
		ON CONFLICT (did, manifest_rkey, position) DO UPDATE SET digest = excluded.digest, size = excluded.size,
			media_type = excluded.media_type`, args...); err != nil {
		return fmt.Errorf("write layers: %w", err)
	}
	return nil
}

// insertChildren writes an index's child manifests in one statement,
// overwriting rows already there (as insertLayers).
func insertChildren(ctx context.Context, tx *sql.Tx, did syntax.DID, rkey string, children []atcr.Manifest_ManifestReference) error {
	if len(children) == 0 {
		return nil
	}
	args := make([]any, 0, 11*len(children))
	for i, c := range children {
		p := c.Platform
		if p == nil {
			p = &atcr.Manifest_Platform{}
		}
		args = append(args, did.String(), rkey, i, c.Digest, c.Size, c.MediaType, c.ArtifactType, p.OS, p.Architecture, p.Variant, p.OSVersion)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO manifest_references
		(did, manifest_rkey, position, digest, size, media_type, artifact_type, os, architecture, variant, os_version) VALUES `+
		valuesList(len(children), 11)+`
		ON CONFLICT (did, manifest_rkey, position) DO UPDATE SET digest = excluded.digest, size = excluded.size,
			media_type = excluded.media_type, artifact_type = excluded.artifact_type, os = excluded.os,
			architecture = excluded.architecture, variant = excluded.variant, os_version = excluded.os_version`, args...); err != nil {
		return fmt.Errorf("write child manifests: %w", err)
	}
	return nil
}

// valuesList is "(?, ?), (?, ?)" for rows of width placeholders.
func valuesList(rows, width int) string {
	row := "(?" + strings.Repeat(", ?", width-1) + ")"
	return row + strings.Repeat(", "+row, rows-1)
}
