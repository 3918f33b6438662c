// Package pcstest is a local stand-in for Intel's Provisioning Certification
// Service (PCS) API v4 and its root CA CRL host, for tests. It serves the
// collateral files of a directory in tdx.NewDirCollateral's layout under
// Intel's paths and headers, so tdx.PCSClient is tested over loopback:
//
//	GET /tdx/certification/v4/tcb?fmspc=<hex>           header TCB-Info-Issuer-Chain
//	GET /tdx/certification/v4/qe/identity               header SGX-Enclave-Identity-Issuer-Chain
//	GET /sgx/certification/v4/pckcrl?ca=<ca>&encoding=der header SGX-PCK-CRL-Issuer-Chain
//	GET /IntelSGXRootCA.der                             the root CA CRL
//
// Issuer chain headers are percent-encoded PEM, as PCS sends them.
package pcstest

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/rassh/rassh/verifier/tdx"
)

// RootCRLPath is the path of the root CA CRL, as on
// certificates.trustedservices.intel.com.
const RootCRLPath = "/IntelSGXRootCA.der"

// Server serves the collateral in Dir. It is an http.Handler.
type Server struct {
	// Dir holds the collateral files.
	Dir string

	mu         sync.Mutex
	failStatus int
	requests   []string
}

// New returns a server for the collateral in dir.
func New(dir string) *Server { return &Server{Dir: dir} }

// SetFailure makes every later request fail with status (0 serves again).
func (s *Server) SetFailure(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failStatus = status
}

// Requests returns the request URIs served so far, in order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.URL.RequestURI())
	fail := s.failStatus
	s.mu.Unlock()

	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if fail != 0 {
		http.Error(w, "injected failure", fail)
		return
	}

	body, chain, header, contentType, err := s.route(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	data, err := os.ReadFile(filepath.Join(s.Dir, body))
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if chain != "" {
		pem, err := os.ReadFile(filepath.Join(s.Dir, chain))
		if err != nil {
			http.Error(w, "issuer chain not found", http.StatusNotFound)
			return
		}
		w.Header().Set(header, percentEncode(pem))
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Request-ID", fmt.Sprintf("pcstest-%d", len(s.Requests())))
	w.Write(data)
}

// route maps a request to its body file, issuer chain file, header name and
// content type.
func (s *Server) route(r *http.Request) (body, chain, header, contentType string, err error) {
	q := r.URL.Query()
	switch r.URL.Path {
	case "/tdx/certification/v4/tcb":
		fmspc, err := hex.DecodeString(q.Get("fmspc"))
		if err != nil || len(fmspc) != 6 {
			return "", "", "", "", fmt.Errorf("invalid fmspc %q", q.Get("fmspc"))
		}
		return tdx.TCBInfoFile(fmspc), tdx.TCBInfoIssuerChainFile(fmspc), "TCB-Info-Issuer-Chain", "application/json", nil
	case "/tdx/certification/v4/qe/identity":
		return tdx.QEIdentityFile, tdx.QEIdentityIssuerChainFile, "SGX-Enclave-Identity-Issuer-Chain", "application/json", nil
	case "/sgx/certification/v4/pckcrl":
		ca := q.Get("ca")
		if ca != "platform" && ca != "processor" {
			return "", "", "", "", fmt.Errorf("invalid ca %q", ca)
		}
		if q.Get("encoding") != "der" {
			return "", "", "", "", fmt.Errorf("this server serves only encoding=der")
		}
		return tdx.PCKCRLFile(ca), tdx.PCKCRLIssuerChainFile(ca), "SGX-PCK-CRL-Issuer-Chain", "application/pkix-crl", nil
	case RootCRLPath:
		return tdx.RootCRLFile, "", "", "application/pkix-crl", nil
	}
	return "", "", "", "", fmt.Errorf("unknown path %q", r.URL.Path)
}

// percentEncode encodes every byte but RFC 3986 unreserved characters, the
// way PCS encodes PEM in its issuer chain headers.
func percentEncode(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			sb.WriteByte(c)
			continue
		}
		fmt.Fprintf(&sb, "%%%02X", c)
	}
	return sb.String()
}
