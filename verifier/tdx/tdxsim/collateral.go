package tdxsim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/rassh/rassh/verifier/tdx"
)

// CollateralOptions shapes simulated collateral.
type CollateralOptions struct {
	// PlatformStatus is the status of the TCB level the simulated platform
	// matches. Empty means "UpToDate". Any other status adds a newer,
	// UpToDate level above it that the platform does not reach.
	PlatformStatus string
	// NoMatch makes every TCB level require higher SVNs than the platform has.
	NoMatch bool
	// ModuleStatus is the status of the TDX module identity's level. Empty
	// means "UpToDate".
	ModuleStatus string
	// QEStatus is the status of the QE identity's level. Empty means
	// "UpToDate".
	QEStatus string
	// RevokePCK puts the PCK certificate on the PCK CRL.
	RevokePCK bool
	// RevokePCKCA puts the PCK CA on the root CA CRL.
	RevokePCKCA bool
}

// Dates of the simulated TCB levels, and the advisory the older one names.
var (
	PlatformLevelDate = time.Date(2024, 3, 13, 0, 0, 0, 0, time.UTC)
	NewerLevelDate    = time.Date(2024, 11, 13, 0, 0, 0, 0, time.UTC)
)

const (
	PlatformAdvisory = "INTEL-SA-SIM-1"
	collateralValid  = 30 * 24 * time.Hour
	tcbSigningCommon = "rassh SIMULATED TCB Signing"
	statusUpToDate   = "UpToDate"
)

// WriteCollateral writes simulated collateral valid from now for 30 days to
// dir, in the layout tdx.NewDirCollateral reads, signed by the authority's
// root (TCB info, QE identity, root CRL) and PCK CA (PCK CRL).
func (a *Authority) WriteCollateral(dir string, now time.Time, opts CollateralOptions) error {
	signingKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("write simulated collateral: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serialNumber(),
		Subject:      pkix.Name{CommonName: tcbSigningCommon, Organization: []string{organization}},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(lifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	signing, err := createCert(tmpl, a.root, &signingKey.PublicKey, a.rootKey)
	if err != nil {
		return fmt.Errorf("write simulated collateral: TCB signing certificate: %w", err)
	}

	tcbInfo, err := signedJSON("tcbInfo", a.tcbInfo(now, opts), signingKey)
	if err != nil {
		return fmt.Errorf("write simulated collateral: %w", err)
	}
	qeIdentity, err := signedJSON("enclaveIdentity", qeIdentity(now, opts), signingKey)
	if err != nil {
		return fmt.Errorf("write simulated collateral: %w", err)
	}
	var pckRevoked, caRevoked []*x509.Certificate
	if opts.RevokePCK {
		pckRevoked = append(pckRevoked, a.pck)
	}
	if opts.RevokePCKCA {
		caRevoked = append(caRevoked, a.intermediate)
	}
	pckCRL, err := crl(a.intermediate, a.intermediateKey, now, pckRevoked)
	if err != nil {
		return fmt.Errorf("write simulated collateral: PCK CRL: %w", err)
	}
	rootCRL, err := crl(a.root, a.rootKey, now, caRevoked)
	if err != nil {
		return fmt.Errorf("write simulated collateral: root CRL: %w", err)
	}

	signingChain := pemCerts(signing, a.root)
	files := map[string][]byte{
		tdx.TCBInfoFile(FMSPC[:]):             tcbInfo,
		tdx.TCBInfoIssuerChainFile(FMSPC[:]):  signingChain,
		tdx.QEIdentityFile:                    qeIdentity,
		tdx.QEIdentityIssuerChainFile:         signingChain,
		tdx.PCKCRLFile("platform"):            pckCRL,
		tdx.PCKCRLIssuerChainFile("platform"): pemCerts(a.intermediate, a.root),
		tdx.RootCRLFile:                       rootCRL,
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write simulated collateral: %w", err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, certMode); err != nil {
			return fmt.Errorf("write simulated collateral: %w", err)
		}
	}
	return nil
}

func orDefault(s string) string {
	if s == "" {
		return statusUpToDate
	}
	return s
}

type component struct {
	SVN int `json:"svn"`
}

func components(svns []byte) []component {
	out := make([]component, 16)
	for i := range out {
		if i < len(svns) {
			out[i].SVN = int(svns[i])
		}
	}
	return out
}

type tcbLevel struct {
	TCB struct {
		SGX    []component `json:"sgxtcbcomponents,omitempty"`
		PCESVN int         `json:"pcesvn,omitempty"`
		TDX    []component `json:"tdxtcbcomponents,omitempty"`
		ISVSVN *int        `json:"isvsvn,omitempty"`
	} `json:"tcb"`
	TCBDate     string   `json:"tcbDate"`
	TCBStatus   string   `json:"tcbStatus"`
	AdvisoryIDs []string `json:"advisoryIDs,omitempty"`
}

func platformLevel(sgx []byte, pcesvn int, tdx []byte, date time.Time, status string, advisory []string) tcbLevel {
	var l tcbLevel
	l.TCB.SGX, l.TCB.PCESVN, l.TCB.TDX = components(sgx), pcesvn, components(tdx)
	l.TCBDate, l.TCBStatus, l.AdvisoryIDs = date.Format(time.RFC3339), status, advisory
	return l
}

func isvLevel(svn int, date time.Time, status string) tcbLevel {
	var l tcbLevel
	l.TCB.ISVSVN = &svn
	l.TCBDate, l.TCBStatus = date.Format(time.RFC3339), status
	return l
}

// tcbInfo builds TDX TCB info v3 for the simulated platform. TEE_TCB_SVN
// byte 1 (module version 1) selects the module identity TDX_01, so levels
// compare TDX components from byte 2 on.
func (a *Authority) tcbInfo(now time.Time, opts CollateralOptions) map[string]any {
	sgx := DefaultTCB.SGXComponents[:]
	tdx := []byte{0, 0, TEETCBSVN[2]}
	higher := func(b []byte) []byte {
		out := append([]byte(nil), b...)
		out[len(out)-1]++
		return out
	}

	var levels []tcbLevel
	status := orDefault(opts.PlatformStatus)
	switch {
	case opts.NoMatch:
		levels = append(levels, platformLevel(higher(sgx[:8]), int(DefaultTCB.PCESVN), tdx, NewerLevelDate, statusUpToDate, nil))
	case status == statusUpToDate:
		levels = append(levels, platformLevel(sgx, int(DefaultTCB.PCESVN), tdx, PlatformLevelDate, statusUpToDate, nil))
	default:
		levels = append(levels,
			platformLevel(sgx, int(DefaultTCB.PCESVN), higher(tdx), NewerLevelDate, statusUpToDate, nil),
			platformLevel(sgx, int(DefaultTCB.PCESVN), tdx, PlatformLevelDate, status, []string{PlatformAdvisory}))
	}

	zero8 := hex.EncodeToString(make([]byte, 8))
	module := map[string]any{"mrsigner": hex.EncodeToString(make([]byte, 48)), "attributes": zero8, "attributesMask": "ffffffffffffffff"}
	identity := map[string]any{
		"id": "TDX_01", "mrsigner": module["mrsigner"], "attributes": zero8, "attributesMask": "ffffffffffffffff",
		"tcbLevels": []tcbLevel{isvLevel(int(TEETCBSVN[0]), PlatformLevelDate, orDefault(opts.ModuleStatus))},
	}
	return map[string]any{
		"id": "TDX", "version": 3,
		"issueDate": now.UTC().Format(time.RFC3339), "nextUpdate": now.Add(collateralValid).UTC().Format(time.RFC3339),
		"fmspc": hex.EncodeToString(FMSPC[:]), "pceId": hex.EncodeToString(PCEID[:]),
		"tcbType": 0, "tcbEvaluationDataNumber": 1,
		"tdxModule":           module,
		"tdxModuleIdentities": []any{identity},
		"tcbLevels":           levels,
	}
}

// qeIdentity builds a TD_QE identity v2 that the simulated QE report meets.
func qeIdentity(now time.Time, opts CollateralOptions) map[string]any {
	return map[string]any{
		"id": "TD_QE", "version": 2,
		"issueDate": now.UTC().Format(time.RFC3339), "nextUpdate": now.Add(collateralValid).UTC().Format(time.RFC3339),
		"tcbEvaluationDataNumber": 1,
		"miscselect":              "00000000", "miscselectMask": "ffffffff",
		"attributes":     "11000000000000000000000000000000",
		"attributesMask": "fbffffffffffffff0000000000000000",
		"mrsigner":       hex.EncodeToString(QEMRSigner[:]),
		"isvprodid":      2,
		"tcbLevels":      []tcbLevel{isvLevel(int(QEISVSVN), PlatformLevelDate, orDefault(opts.QEStatus))},
	}
}

// signedJSON returns {"<field>":<body>,"signature":"<hex r||s over body>"}.
func signedJSON(field string, v any, key *ecdsa.PrivateKey) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	sig, err := signRS(key, body)
	if err != nil {
		return nil, err
	}
	return []byte(`{"` + field + `":` + string(body) + `,"signature":"` + hex.EncodeToString(sig) + `"}`), nil
}

func crl(issuer *x509.Certificate, key *ecdsa.PrivateKey, now time.Time, revoked []*x509.Certificate) ([]byte, error) {
	tmpl := &x509.RevocationList{
		Number:     big.NewInt(1),
		ThisUpdate: now.Add(-backdate),
		NextUpdate: now.Add(collateralValid),
	}
	for _, c := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: now.Add(-backdate)})
	}
	return x509.CreateRevocationList(rand.Reader, tmpl, issuer, key)
}

func pemCerts(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}
