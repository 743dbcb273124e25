package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
)

// Kind names the binary a config file is for.
type Kind string

// The config kinds InitFile can write.
const (
	KindHold    Kind = "hold"
	KindAppView Kind = "appview"
)

// WriteHoldTemplate writes the atcr-hold config file `config init` creates:
// every key with its default, its environment variable and what it does.
func WriteHoldTemplate(w io.Writer) error {
	return writeTemplate(w, "atcr-hold", DefaultHold())
}

// WriteAppViewTemplate writes the atcr-appview config file `config init`
// creates.
func WriteAppViewTemplate(w io.Writer) error {
	return writeTemplate(w, "atcr-appview", DefaultAppView())
}

// InitFile creates path with the template for kind, readable only by its
// owner because the file will hold secrets. It never overwrites: if path
// exists the error satisfies errors.Is(err, fs.ErrExist).
func InitFile(path string, kind Kind) error {
	var write func(io.Writer) error
	switch kind {
	case KindHold:
		write = WriteHoldTemplate
	case KindAppView:
		write = WriteAppViewTemplate
	default:
		return fmt.Errorf("config init: unknown kind %q (want %q or %q)", kind, KindHold, KindAppView)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("config init: %w", err)
	}
	if err := write(f); err != nil {
		return errors.Join(fmt.Errorf("config init: write %s: %w", path, err), f.Close(), os.Remove(path))
	}
	if err := f.Close(); err != nil {
		return errors.Join(fmt.Errorf("config init: close %s: %w", path, err), os.Remove(path))
	}
	return nil
}

// writeTemplate renders cfg as commented YAML, straight from the struct
// tags, so the template cannot drift from what the loader accepts.
func writeTemplate(w io.Writer, binary string, cfg any) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s configuration, written by `%s config init`.\n", binary, binary)
	b.WriteString("#\n")
	b.WriteString("# Every key is shown with its default value. The environment variable named\n")
	b.WriteString("# above a key overrides it; a key removed from this file keeps its default.\n")
	fmt.Fprintf(&b, "# Use it with: %s serve --config FILE\n", binary)
	err := walkFields(reflect.ValueOf(cfg).Elem(), func(f field) error {
		indent := strings.Repeat("  ", f.depth)
		if f.depth == 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s# %s\n", indent, f.comment)
		if f.section {
			fmt.Fprintf(&b, "%s%s:\n", indent, f.name)
			return nil
		}
		val, err := formatValue(f.value)
		if err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
		fmt.Fprintf(&b, "%s# env: %s\n", indent, f.env)
		fmt.Fprintf(&b, "%s%s: %s\n", indent, f.name, val)
		return nil
	})
	if err != nil {
		return fmt.Errorf("render %s template: %w", binary, err)
	}
	_, err = w.Write(b.Bytes())
	return err
}
