package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// The two registries a run compares.
const (
	ATCR      = "atcr"
	Reference = "reference"
)

// Meta is one "meta" record, kept in file order.
type Meta struct{ Key, Value string }

// FigureError is one "error" record.
type FigureError struct{ Figure, Registry, Message string }

// Raw is a parsed raw measurements file.
type Raw struct {
	Meta   []Meta
	Runs   map[string]map[string][]float64 // figure → registry → values in file order
	Order  []string                        // figures in first-seen order
	Errors []FigureError
}

// maxLine bounds one record.
const maxLine = 64 << 10

// ParseRaw reads the tab-separated raw file (see the command's doc).
func ParseRaw(r io.Reader) (*Raw, error) {
	raw := &Raw{Runs: map[string]map[string][]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLine)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		switch {
		case f[0] == "meta" && len(f) == 3:
			raw.Meta = append(raw.Meta, Meta{f[1], f[2]})
		case f[0] == "run" && len(f) == 4:
			if err := raw.addRun(f[1], f[2], f[3]); err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
		case f[0] == "error" && len(f) == 4:
			if err := checkRegistry(f[2]); err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			raw.Errors = append(raw.Errors, FigureError{f[1], f[2], f[3]})
			raw.see(f[1])
		default:
			return nil, fmt.Errorf("line %d: not a meta/run/error record: %q", n, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(raw.Order) == 0 {
		return nil, fmt.Errorf("no measurements")
	}
	return raw, nil
}

func (raw *Raw) addRun(figure, registry, value string) error {
	if err := checkRegistry(registry); err != nil {
		return err
	}
	if _, err := lookupFigure(figure); err != nil {
		return err
	}
	v, err := strconv.ParseFloat(value, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return fmt.Errorf("figure %s: value %q is not a non-negative number", figure, value)
	}
	raw.see(figure)
	if raw.Runs[figure] == nil {
		raw.Runs[figure] = map[string][]float64{}
	}
	raw.Runs[figure][registry] = append(raw.Runs[figure][registry], v)
	return nil
}

func (raw *Raw) see(figure string) {
	if _, ok := raw.Runs[figure]; ok {
		return
	}
	for _, f := range raw.Order {
		if f == figure {
			return
		}
	}
	raw.Order = append(raw.Order, figure)
}

func checkRegistry(r string) error {
	if r != ATCR && r != Reference {
		return fmt.Errorf("registry %q is neither %q nor %q", r, ATCR, Reference)
	}
	return nil
}

// hasError reports whether an error was recorded for figure and registry.
func (raw *Raw) hasError(figure, registry string) bool {
	for _, e := range raw.Errors {
		if e.Figure == figure && e.Registry == registry {
			return true
		}
	}
	return false
}
