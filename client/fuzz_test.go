package client

import (
	"os"
	"testing"
)

func FuzzParseExtension(f *testing.F) {
	f.Add([]byte(`{"verifier":"local","evidence_sha256":"ab01","require_ra_ssh":true}`))
	f.Add([]byte(`{"verifier":"maa"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ext, err := ParseExtension(data)
		if err == nil && ext == nil {
			t.Fatal("nil extension without error")
		}
	})
}

func FuzzParseKnownHosts(f *testing.F) {
	ca, err := os.ReadFile("testdata/krl/ca.pub")
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("@cert-authority *.fleet.test,!bad.fleet.test " + string(ca)))
	f.Add([]byte("|1|mF7bIPHjPSRvr0UdWNI+eHq8DvI=|R2V1lJhy6YzYCb8Ox44LDYFPcYY= " + string(ca)))
	f.Add([]byte("@revoked [h]:2222 " + string(ca) + "# comment\n"))
	key := fuzzLookupKey(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		kh, err := ParseKnownHosts(data)
		if err != nil {
			return
		}
		kh.IsHostAuthority(key.SignatureKey, "web1.fleet.test:22")
		kh.HasHostKey(key, "[h]:2222")
	})
}
