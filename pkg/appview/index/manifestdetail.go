package index

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"atcr.io/pkg/appview/db"
)

// ManifestDetail is one manifest as its detail view shows it: layers for an
// image, platforms for an index, and the manifests that refer to it
// (signatures, SBOMs, attestations: OCI referrers by subject).
type ManifestDetail struct {
	RKey         string
	Digest       string
	MediaType    string
	ArtifactType string
	HoldDID      string
	Size         int64
	// SubjectDigest is the manifest this one refers to, "" when none.
	SubjectDigest string
	Annotations   map[string]string
	CreatedAt     time.Time
	Layers        []Layer
	Platforms     []Platform
	Referrers     []Referrer
}

// Layer is one layer of an image manifest.
type Layer struct {
	Digest    string
	MediaType string
	Size      int64
}

// Referrer is a manifest of the same repository whose subject is this one.
type Referrer struct {
	Digest       string
	MediaType    string
	ArtifactType string
	CreatedAt    time.Time
}

// Manifest reads the newest indexed record of digest in owner's repository;
// db.ErrNotFound (wrapped) when there is none.
func (s *Store) Manifest(ctx context.Context, owner, repository, digest string) (ManifestDetail, error) {
	what := fmt.Sprintf("manifest %s of %s/%s", truncate(digest), truncate(owner), truncate(repository))
	tx, err := s.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return ManifestDetail{}, fmt.Errorf("read %s: %w", what, err)
	}
	defer tx.Rollback()
	var m ManifestDetail
	var annotations string
	var created int64
	err = tx.QueryRowContext(ctx, `SELECT rkey, digest, media_type, artifact_type, hold_did, size, subject_digest, annotations, created_at
		FROM manifests WHERE did = ? AND repository = ? AND digest = ? ORDER BY created_at DESC LIMIT 1`, owner, repository, digest).
		Scan(&m.RKey, &m.Digest, &m.MediaType, &m.ArtifactType, &m.HoldDID, &m.Size, &m.SubjectDigest, &annotations, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return ManifestDetail{}, fmt.Errorf("%s: %w", what, db.ErrNotFound)
	}
	if err != nil {
		return ManifestDetail{}, fmt.Errorf("read %s: %w", what, err)
	}
	m.CreatedAt = fromUnix(created)
	if err := json.Unmarshal([]byte(annotations), &m.Annotations); err != nil {
		return ManifestDetail{}, fmt.Errorf("decode annotations of %s: %w", what, err)
	}
	err = eachRow(ctx, tx, func(r *sql.Rows) error {
		var l Layer
		err := r.Scan(&l.Digest, &l.MediaType, &l.Size)
		m.Layers = append(m.Layers, l)
		return err
	}, `SELECT digest, media_type, size FROM layers WHERE did = ? AND manifest_rkey = ? ORDER BY position`, owner, m.RKey)
	if err != nil {
		return ManifestDetail{}, fmt.Errorf("read layers of %s: %w", what, err)
	}
	err = eachRow(ctx, tx, func(r *sql.Rows) error {
		var p Platform
		err := r.Scan(&p.OS, &p.Architecture, &p.Variant, &p.OSVersion, &p.Digest, &p.MediaType, &p.Size)
		m.Platforms = append(m.Platforms, p)
		return err
	}, `SELECT os, architecture, variant, os_version, digest, media_type, size FROM manifest_references
		WHERE did = ? AND manifest_rkey = ? ORDER BY position`, owner, m.RKey)
	if err != nil {
		return ManifestDetail{}, fmt.Errorf("read platforms of %s: %w", what, err)
	}
	err = eachRow(ctx, tx, func(r *sql.Rows) error {
		var ref Referrer
		var at int64
		err := r.Scan(&ref.Digest, &ref.MediaType, &ref.ArtifactType, &at)
		ref.CreatedAt = fromUnix(at)
		m.Referrers = append(m.Referrers, ref)
		return err
	}, `SELECT digest, media_type, artifact_type, created_at FROM manifests
		WHERE did = ? AND repository = ? AND subject_digest = ? ORDER BY created_at DESC, rkey`, owner, repository, m.Digest)
	if err != nil {
		return ManifestDetail{}, fmt.Errorf("read referrers of %s: %w", what, err)
	}
	return m, nil
}

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// eachRow runs query in q and calls scan for every row.
func eachRow(ctx context.Context, q querier, scan func(*sql.Rows) error, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
