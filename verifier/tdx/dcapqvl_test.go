package tdx

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dcap-qvl ships collateral as one JSON object; PCS serves it as separate
// responses. convertDcapQvl turns the former into the latter, in the
// directory layout NewDirCollateral reads. Run
//
//	go test ./verifier/tdx -run TestDcapQvlCollateralFiles -update-collateral
//
// to rewrite testdata/dcap-qvl/collateral-*; without the flag the test
// checks that the committed files are what the conversion produces.
var updateCollateral = flag.Bool("update-collateral", false, "rewrite testdata/dcap-qvl/collateral-* from dcap-qvl's collateral JSON")

var dcapQvlSets = []struct{ json, dir string }{
	{"../../testdata/dcap-qvl/tdx_quote_collateral.json", "../../testdata/dcap-qvl/collateral-tdx_quote"},
	{"../../testdata/dcap-qvl/tdx_quote_outdated_collateral.json", "../../testdata/dcap-qvl/collateral-tdx_quote_outdated"},
}

type dcapQvlCollateral struct {
	PCKCRLIssuerChain     string `json:"pck_crl_issuer_chain"`
	RootCACRL             string `json:"root_ca_crl"` // hex DER
	PCKCRL                string `json:"pck_crl"`     // hex DER
	TCBInfoIssuerChain    string `json:"tcb_info_issuer_chain"`
	TCBInfo               string `json:"tcb_info"` // the signed JSON, verbatim
	TCBInfoSignature      string `json:"tcb_info_signature"`
	QEIdentityIssuerChain string `json:"qe_identity_issuer_chain"`
	QEIdentity            string `json:"qe_identity"`
	QEIdentitySignature   string `json:"qe_identity_signature"`
}

// convertDcapQvl returns the PCS-format files, by name, for one dcap-qvl
// collateral JSON.
func convertDcapQvl(t *testing.T, src []byte) map[string][]byte {
	t.Helper()
	var d dcapQvlCollateral
	if err := json.Unmarshal(src, &d); err != nil {
		t.Fatal(err)
	}
	var info struct {
		Fmspc string `json:"fmspc"`
	}
	if err := json.Unmarshal([]byte(d.TCBInfo), &info); err != nil {
		t.Fatal(err)
	}
	fmspc, err := hex.DecodeString(info.Fmspc)
	if err != nil {
		t.Fatal(err)
	}
	pckCRL, err := hex.DecodeString(d.PCKCRL)
	if err != nil {
		t.Fatal(err)
	}
	rootCRL, err := hex.DecodeString(d.RootCACRL)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(pckCRL)
	if err != nil {
		t.Fatal(err)
	}
	ca := map[string]string{"Intel SGX PCK Platform CA": "platform", "Intel SGX PCK Processor CA": "processor"}[crl.Issuer.CommonName]
	if ca == "" {
		t.Fatalf("PCK CRL issuer %q", crl.Issuer.CommonName)
	}

	// The signature covers the exact tcbInfo / enclaveIdentity bytes, so the
	// PCS body is assembled around them without re-encoding.
	return map[string][]byte{
		TCBInfoFile(fmspc):            []byte(`{"tcbInfo":` + d.TCBInfo + `,"signature":"` + d.TCBInfoSignature + `"}`),
		TCBInfoIssuerChainFile(fmspc): []byte(d.TCBInfoIssuerChain),
		QEIdentityFile:                []byte(`{"enclaveIdentity":` + d.QEIdentity + `,"signature":"` + d.QEIdentitySignature + `"}`),
		QEIdentityIssuerChainFile:     []byte(d.QEIdentityIssuerChain),
		PCKCRLFile(ca):                pckCRL,
		PCKCRLIssuerChainFile(ca):     []byte(d.PCKCRLIssuerChain),
		RootCRLFile:                   rootCRL,
	}
}

func TestDcapQvlCollateralFiles(t *testing.T) {
	for _, set := range dcapQvlSets {
		files := convertDcapQvl(t, readFile(t, set.json))
		if *updateCollateral {
			if err := os.MkdirAll(set.dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for name, want := range files {
			path := filepath.Join(set.dir, name)
			if *updateCollateral {
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if got := readFile(t, path); !bytes.Equal(got, want) {
				t.Errorf("%s differs from the conversion of %s", path, set.json)
			}
		}
		entries, err := os.ReadDir(set.dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if _, ok := files[e.Name()]; !ok && !strings.HasSuffix(e.Name(), ".md") {
				t.Errorf("%s holds %s, which the conversion does not produce", set.dir, e.Name())
			}
		}
	}
}
