package config

import "testing"

// The deployment's names (deploy/.env.example): APPVIEW_DOMAIN and
// HOLD_DOMAIN alone make the public URLs, so a compose file needs no
// second spelling of each host.
func TestDomainsMakeThePublicURLs(t *testing.T) {
	t.Parallel()
	hold, err := loadHoldBytes("", map[string]string{
		"HOLD_DOMAIN": "hold01.atcr.example.com",
		"HOLD_OWNER":  "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
	})
	if err != nil {
		t.Fatal(err)
	}
	if hold.Server.PublicURL != "https://hold01.atcr.example.com" || hold.Server.Domain != "hold01.atcr.example.com" {
		t.Errorf("hold: public_url %q, domain %q", hold.Server.PublicURL, hold.Server.Domain)
	}
	av, err := loadAppViewBytes("", map[string]string{
		"APPVIEW_DOMAIN":        "atcr.example.com",
		"ATCR_DEFAULT_HOLD_DID": "did:web:hold01.atcr.example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	if av.Server.BaseURL != "https://atcr.example.com" || av.ServiceName() != "atcr.example.com" {
		t.Errorf("appview: base_url %q, service %q", av.Server.BaseURL, av.ServiceName())
	}

	// Without a domain nothing changes: the loopback default stays.
	local, err := loadAppViewBytes("", nil)
	if err != nil || local.Server.BaseURL != devAppViewURL {
		t.Errorf("no domain: base_url %q, %v", local.Server.BaseURL, err)
	}
	// A URL that agrees with the domain is fine (the domain's own form and
	// case do not matter).
	if _, err := loadHoldBytes(prodHold, map[string]string{"HOLD_DOMAIN": "HOLD.example.com"}); err != nil {
		t.Errorf("matching public_url and HOLD_DOMAIN: %v", err)
	}
}

func TestDomainErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []errorCase{
		{name: "scheme", env: map[string]string{"HOLD_DOMAIN": "https://hold.example.com", "HOLD_OWNER": "did:plc:ewvi7nxzyoun6zhxrhs64oiz"},
			msg: "is not a host name", key: "server.domain", envv: "HOLD_DOMAIN"},
		{name: "port", env: map[string]string{"HOLD_DOMAIN": "hold.example.com:8443", "HOLD_OWNER": "did:plc:ewvi7nxzyoun6zhxrhs64oiz"},
			msg: "is not a host name", key: "server.domain", envv: "HOLD_DOMAIN"},
		{name: "two hosts", yaml: prodHold, env: map[string]string{"HOLD_DOMAIN": "hold02.example.com"},
			msg: `names another host than server.public_url "https://hold.example.com"`, key: "server.domain", envv: "HOLD_DOMAIN"},
	} {
		t.Run("hold "+tc.name, func(t *testing.T) {
			_, err := loadHoldBytes(tc.yaml, tc.env)
			checkError(t, tc, err)
		})
	}
	tc := errorCase{yaml: prodAppView, env: map[string]string{"APPVIEW_DOMAIN": "registry.example.com"},
		msg: "names another host", key: "server.domain", envv: "APPVIEW_DOMAIN"}
	_, err := loadAppViewBytes(tc.yaml, tc.env)
	checkError(t, tc, err)
	tc = errorCase{env: map[string]string{"APPVIEW_DOMAIN": "atcr.example.com/", "ATCR_DEFAULT_HOLD_DID": "did:web:h.example.com"},
		msg: "is not a host name", key: "server.domain", envv: "APPVIEW_DOMAIN"}
	_, err = loadAppViewBytes(tc.yaml, tc.env)
	checkError(t, tc, err)
}
