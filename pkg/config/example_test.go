package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"atcr.io/pkg/config"
)

func ExampleHoldConfig_S3Params() {
	p := config.DefaultHold().S3Params()
	fmt.Println(p.Bucket, p.Region, p.PresignTTL)
	// Output: atcr us-east-1 15m0s
}

func ExampleLoadAppView() {
	dir, err := os.MkdirTemp("", "atcr-config")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "appview.yaml")
	file := "server:\n  base_url: https://atcr.example.com\n  default_hold_did: did:web:hold.example.com\nui:\n  enabeld: false\n"
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		panic(err)
	}
	_, err = config.LoadAppView(path)
	fmt.Println(strings.ReplaceAll(err.Error(), dir, "DIR"))
	// Output: config: DIR/appview.yaml:5: unknown key "ui.enabeld"
}
