package tdx_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rassh/rassh/verifier"
	"github.com/rassh/rassh/verifier/tdx"
	"github.com/rassh/rassh/verifier/tdx/pcstest"
)

const (
	dcapQuote      = "../../testdata/dcap-qvl/tdx_quote.bin"
	dcapCollateral = "../../testdata/dcap-qvl/collateral-tdx_quote"
)

var dcapTime = time.Date(2025, 6, 20, 0, 0, 0, 0, time.UTC)

func newPCS(t *testing.T, dir string) (*pcstest.Server, *tdx.PCSClient) {
	t.Helper()
	pcs := pcstest.New(dir)
	srv := httptest.NewServer(pcs)
	t.Cleanup(srv.Close)
	client := &tdx.PCSClient{
		BaseURL:    srv.URL,
		RootCRLURL: srv.URL + pcstest.RootCRLPath,
		CacheDir:   t.TempDir(),
		HTTPClient: srv.Client(),
		Now:        func() time.Time { return dcapTime },
	}
	return pcs, client
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPCSClientVerifiesQuote(t *testing.T) {
	pcs, client := newPCS(t, dcapCollateral)
	v := &tdx.Verifier{Collateral: client, Now: func() time.Time { return dcapTime }}

	c, err := v.VerifyQuote(context.Background(), mustRead(t, dcapQuote))
	if err != nil {
		t.Fatalf("VerifyQuote: %v", err)
	}
	if c.TCB == nil || c.TCB.Status != verifier.TCBStatusUpToDate || !c.TCB.CRLChecked {
		t.Errorf("TCB = %+v, want UpToDate with CRLs checked", c.TCB)
	}
	want := []string{
		"/tdx/certification/v4/tcb?fmspc=b0c06f000000",
		"/tdx/certification/v4/qe/identity",
		"/sgx/certification/v4/pckcrl?ca=platform&encoding=der",
		pcstest.RootCRLPath,
	}
	if got := pcs.Requests(); !slices.Equal(got, want) {
		t.Errorf("requests = %q\nwant %q", got, want)
	}
}

func TestPCSClientCachesUntilNextUpdate(t *testing.T) {
	pcs, client := newPCS(t, dcapCollateral)
	fmspc := []byte{0xb0, 0xc0, 0x6f, 0, 0, 0}
	if _, err := client.Collateral(context.Background(), fmspc, "platform"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{tdx.TCBInfoFile(fmspc), tdx.QEIdentityFile, tdx.PCKCRLFile("platform"), tdx.RootCRLFile} {
		got := mustRead(t, filepath.Join(client.CacheDir, name))
		if !bytes.Equal(got, mustRead(t, filepath.Join(dcapCollateral, name))) {
			t.Errorf("cached %s differs from what PCS served", name)
		}
	}

	// The cache serves the collateral while it is fresh, so a PCS outage
	// goes unnoticed.
	pcs.SetFailure(http.StatusServiceUnavailable)
	if _, err := client.Collateral(context.Background(), fmspc, "platform"); err != nil {
		t.Fatalf("cached collateral: %v", err)
	}
	if n := len(pcs.Requests()); n != 4 {
		t.Errorf("%d requests, want 4 (the cache should answer the second call)", n)
	}

	// After the TCB info's nextUpdate (2025-07-19T10:16:03Z) the client
	// fetches again and, with PCS down, cannot decide.
	client.Now = func() time.Time { return time.Date(2025, 7, 19, 10, 16, 3, 0, time.UTC) }
	_, err := client.Collateral(context.Background(), fmspc, "platform")
	var und *verifier.UndecidedError
	if !errors.As(err, &und) {
		t.Fatalf("err = %v, want *verifier.UndecidedError", err)
	}
}

func TestPCSClientUnreachableIsUndecided(t *testing.T) {
	_, client := newPCS(t, dcapCollateral)
	client.BaseURL = "http://127.0.0.1:1"
	v := &tdx.Verifier{Collateral: client, Now: func() time.Time { return dcapTime }}
	_, err := v.VerifyQuote(context.Background(), mustRead(t, dcapQuote))
	var und *verifier.UndecidedError
	if !errors.As(err, &und) {
		t.Fatalf("err = %v, want *verifier.UndecidedError", err)
	}
	if und.Op != "fetch collateral" {
		t.Errorf("Op = %q, want %q", und.Op, "fetch collateral")
	}
}

func TestPCSClientServerErrorIsUndecided(t *testing.T) {
	pcs, client := newPCS(t, dcapCollateral)
	pcs.SetFailure(http.StatusInternalServerError)
	_, err := client.Collateral(context.Background(), []byte{0xb0, 0xc0, 0x6f, 0, 0, 0}, "platform")
	var und *verifier.UndecidedError
	if !errors.As(err, &und) {
		t.Fatalf("err = %v, want *verifier.UndecidedError", err)
	}
	want := "could not decide: fetch collateral: GET " + client.BaseURL + "/tdx/certification/v4/tcb?fmspc=b0c06f000000: status 500 Internal Server Error"
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
}

func TestPCSClientUnknownFMSPCIsUndecided(t *testing.T) {
	_, client := newPCS(t, dcapCollateral)
	_, err := client.Collateral(context.Background(), []byte{1, 2, 3, 4, 5, 6}, "platform")
	if !verifier.IsUndecided(err) {
		t.Fatalf("err = %v, want *verifier.UndecidedError", err)
	}
}

func TestPCSClientRejectsTamperedTCBInfo(t *testing.T) {
	dir := t.TempDir()
	entries, err := os.ReadDir(dcapCollateral)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b := mustRead(t, filepath.Join(dcapCollateral, e.Name()))
		if e.Name() == "tcbinfo-b0c06f000000.json" {
			b = bytes.Replace(b, []byte(`"tcbStatus":"OutOfDate"`), []byte(`"tcbStatus":"UpToDate"`), 1)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, client := newPCS(t, dir)
	_, err = client.Collateral(context.Background(), []byte{0xb0, 0xc0, 0x6f, 0, 0, 0}, "platform")
	var rej *verifier.RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("err = %v, want *verifier.RejectedError", err)
	}
	want := `rejected: collateral: TCB info signature does not verify with "Intel SGX TCB Signing"`
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
	if _, err := os.Stat(filepath.Join(client.CacheDir, "tcbinfo-b0c06f000000.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("tampered collateral was cached (stat: %v)", err)
	}
}
