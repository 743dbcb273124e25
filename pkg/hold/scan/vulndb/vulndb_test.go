package vulndb_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"atcr.io/pkg/hold/scan/scantest"
	"atcr.io/pkg/hold/scan/vulndb"
)

func TestNoDatabase(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "vulndb")
	db, err := vulndb.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("Open did not create the directory: %v", err)
	}
	st := db.Status(ctx)
	if st.Present || st.Err != nil || !st.Built.IsZero() {
		t.Errorf("status of an empty directory = %+v", st)
	}
	if _, err := db.Acquire(ctx); !errors.Is(err, vulndb.ErrNoDatabase) {
		t.Errorf("Acquire without a database: %v, want ErrNoDatabase", err)
	}
}

func TestImportSwapsAndNotifies(t *testing.T) {
	ctx := context.Background()
	db, err := vulndb.Open(ctx, filepath.Join(t.TempDir(), "vulndb"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mu sync.Mutex
	var seen []time.Time
	db.OnChange(func(st vulndb.Status) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, st.Built)
	})

	first := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	st, err := db.Import(ctx, scantest.Archive(t, first))
	if err != nil {
		t.Fatal(err)
	}
	if !st.Present || !st.Built.Equal(first) || st.Schema == "" || st.From != "manual import" {
		t.Errorf("status after import = %+v", st)
	}
	if len(st.Providers) != 1 || st.Providers[0].ID != "alpine" {
		t.Errorf("providers = %+v, want alpine", st.Providers)
	}
	h, err := db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Built().Equal(first) {
		t.Errorf("handle built %v, want %v", h.Built(), first)
	}

	// A newer database replaces it; the scan holding the old one keeps a
	// working reader until it releases it.
	second := first.Add(24 * time.Hour)
	if _, err := db.Import(ctx, scantest.Archive(t, second)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Provider.FindVulnerabilities(); err != nil {
		t.Errorf("the old handle stopped working after the swap: %v", err)
	}
	h.Release()
	h2, err := db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !h2.Built().Equal(second) {
		t.Errorf("after the second import Acquire serves %v, want %v", h2.Built(), second)
	}
	h2.Release()
	db.Close()
	if left, _ := os.ReadDir(filepath.Join(db.Dir(), "readers")); len(left) != 0 {
		t.Errorf("reader links left after every handle was released and the DB closed: %v", left)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || !seen[0].Equal(first) || !seen[1].Equal(second) {
		t.Errorf("OnChange saw %v, want [%v %v]", seen, first, second)
	}
}

// A database imported by another process (atcr-hold scanner db import
// while the hold runs) is picked up by the next Acquire.
func TestNoticesImportByAnotherProcess(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "vulndb")
	running, err := vulndb.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer running.Close()
	changed := make(chan time.Time, 1)
	running.OnChange(func(st vulndb.Status) { changed <- st.Built })

	other, err := vulndb.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	built := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if _, err := other.Import(ctx, scantest.Archive(t, built)); err != nil {
		t.Fatal(err)
	}
	other.Close()

	h, err := running.Acquire(ctx)
	if err != nil {
		t.Fatalf("Acquire after another process imported: %v", err)
	}
	h.Release()
	select {
	case got := <-changed:
		if !got.Equal(built) {
			t.Errorf("OnChange built %v, want %v", got, built)
		}
	default:
		t.Error("OnChange was not called")
	}
}

func TestImportRefusesWhatIsNotAnArchive(t *testing.T) {
	ctx := context.Background()
	db, err := vulndb.Open(ctx, filepath.Join(t.TempDir(), "vulndb"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	junk := filepath.Join(t.TempDir(), "junk.tar.gz")
	if err := os.WriteFile(junk, []byte("not an archive"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{junk, filepath.Join(t.TempDir(), "missing.tar.gz"), t.TempDir(), "https://example.invalid/db.tar.gz"} {
		if _, err := db.Import(ctx, p); err == nil {
			t.Errorf("Import(%q) succeeded", p)
		}
	}
	if st := db.Status(ctx); st.Present {
		t.Errorf("a failed import left a database: %+v", st)
	}
}

// GrypeVersion's fallback must name the grype go.mod requires.
func TestGrypeVersionMatchesGoMod(t *testing.T) {
	mod, err := os.ReadFile("../../../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	want := "github.com/anchore/grype " + vulndb.GrypeVersion()
	if !strings.Contains(string(mod), want) {
		t.Errorf("go.mod does not require %q: update grypeRequired in maintain.go", want)
	}
}
