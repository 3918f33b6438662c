package client_test

import (
	"strings"
	"testing"

	"github.com/rassh/rassh/ca"
	"github.com/rassh/rassh/client"
)

func TestExtensionMatchesCA(t *testing.T) {
	if client.ExtensionName != ca.ExtensionName {
		t.Fatalf("extension name %q, the CA writes %q", client.ExtensionName, ca.ExtensionName)
	}
	for _, written := range []ca.Extension{
		{Verifier: "local", EvidenceSHA256: strings.Repeat("ab", 32), RequireRASSH: true, Simulated: true},
		{Verifier: "maa", EvidenceSHA256: strings.Repeat("01", 32)},
	} {
		got, err := client.ParseExtension([]byte(written.Marshal()))
		if err != nil {
			t.Fatal(err)
		}
		want := client.Extension{Verifier: written.Verifier, EvidenceSHA256: written.EvidenceSHA256,
			RequireRASSH: written.RequireRASSH, Simulated: written.Simulated}
		if *got != want {
			t.Errorf("parsed %+v, expected %+v", *got, want)
		}
	}
}
