package tdx

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-tdx-guest/pcs"

	"github.com/rassh/rassh/verifier"
)

// evaluateCollateral fetches collateral for the quote's platform, checks the
// PCK chain against the CRLs, and evaluates the TCB status as TCB.md
// describes. roots anchor the collateral's issuer chains and CRLs.
func (v *Verifier) evaluateCollateral(ctx context.Context, q *quote, chain *pckChain, roots *x509.CertPool, now time.Time) (*verifier.TCB, error) {
	fmspc, err := hex.DecodeString(chain.ext.FMSPC)
	if err != nil {
		return nil, verifier.Reject(checkChain, "PCK certificate FMSPC %q is not hex", chain.ext.FMSPC)
	}
	ca, err := chain.pckCA()
	if err != nil {
		return nil, verifier.Reject(checkChain, "%v", err)
	}
	col, err := v.Collateral.Collateral(ctx, fmspc, ca)
	if err != nil {
		return nil, err
	}

	rootCRL, err := checkRevocation(col, chain, now)
	if err != nil {
		return nil, err
	}
	info, err := parseTCBInfo(col.TCBInfo, col.TCBInfoIssuerChain, roots, rootCRL, now)
	if err != nil {
		return nil, err
	}
	qeID, err := parseQEIdentity(col.QEIdentity, col.QEIdentityIssuerChain, roots, rootCRL, now)
	if err != nil {
		return nil, err
	}

	tcb, err := evaluateTCB(info, q, chain.ext)
	if err != nil {
		return nil, err
	}
	qeLevel, err := matchQEIdentity(qeID, q.qeReport)
	if err != nil {
		return nil, err
	}
	tcb.converge(qeLevel)
	return tcb.result(info), nil
}

// checkRevocation verifies the root CA CRL and the PCK CRL and rejects a
// chain whose PCK CA or PCK certificate is on them. It returns the root CRL
// for the collateral issuer chains.
func checkRevocation(col *Collateral, chain *pckChain, now time.Time) (*x509.RevocationList, error) {
	rootCRL, err := parseCRL(col.RootCRL, "root CA CRL")
	if err != nil {
		return nil, err
	}
	if err := checkCRL(rootCRL, chain.anchorRoot, now, "root CA CRL"); err != nil {
		return nil, err
	}
	pckCRL, err := parseCRL(col.PCKCRL, "PCK CRL")
	if err != nil {
		return nil, err
	}
	if err := checkCRL(pckCRL, chain.intermediate, now, "PCK CRL"); err != nil {
		return nil, err
	}
	if revoked(rootCRL, chain.intermediate) {
		return nil, verifier.Reject(checkRevoked, "PCK CA %q (serial %x) is on the root CA CRL", chain.intermediate.Subject.CommonName, chain.intermediate.SerialNumber)
	}
	if revoked(pckCRL, chain.leaf) {
		return nil, verifier.Reject(checkRevoked, "PCK certificate (serial %x) is on the PCK CRL of %q", chain.leaf.SerialNumber, chain.intermediate.Subject.CommonName)
	}
	return rootCRL, nil
}

// tcbResult is the TCB evaluation in progress.
type tcbResult struct {
	status   string
	date     time.Time
	advisory []string
}

// evaluateTCB checks the TDX module against the TCB info and finds the
// platform's TCB level, converged with the TDX module identity's level.
func evaluateTCB(info *pcs.TcbInfo, q *quote, ext *pcs.PckExtensions) (*tcbResult, error) {
	if ext.FMSPC != strings.ToLower(info.Fmspc) || !strings.EqualFold(ext.PCEID, info.PceID) {
		return nil, verifier.Reject(checkCollateral, "TCB info is for FMSPC %s PCE-ID %s, the PCK certificate has FMSPC %s PCE-ID %s", info.Fmspc, info.PceID, ext.FMSPC, ext.PCEID)
	}
	teeTCBSVN := q.body[bodyTEETCBSVN : bodyTEETCBSVN+16]

	// TEE_TCB_SVN byte 1 is the TDX module's major version. Version 0 is
	// checked against the TCB info's tdxModule; other versions against the
	// tdxModuleIdentities entry "TDX_<version as two hex digits>".
	var module *pcs.TdxModuleIdentity
	mrsigner, attrs, mask := info.TdxModule.Mrsigner.Bytes, info.TdxModule.Attributes.Bytes, info.TdxModule.AttributesMask.Bytes
	if teeTCBSVN[1] > 0 {
		id := fmt.Sprintf("TDX_%02X", teeTCBSVN[1])
		i := slices.IndexFunc(info.TdxModuleIdentities, func(m pcs.TdxModuleIdentity) bool { return strings.EqualFold(m.ID, id) })
		if i < 0 {
			return &tcbResult{status: verifier.TCBStatusNoMatch}, nil
		}
		module = &info.TdxModuleIdentities[i]
		mrsigner, attrs, mask = module.Mrsigner.Bytes, module.Attributes.Bytes, module.AttributesMask.Bytes
	}
	if err := checkModule(q, mrsigner, attrs, mask); err != nil {
		return nil, err
	}

	level := matchPlatformLevel(info.TcbLevels, ext, teeTCBSVN)
	if level == nil {
		return &tcbResult{status: verifier.TCBStatusNoMatch}, nil
	}
	r := &tcbResult{status: string(level.TcbStatus), date: parseDate(level.TcbDate), advisory: slices.Clone(level.AdvisoryIDs)}
	if module != nil {
		r.converge(matchISVSVN(module.TcbLevels, uint32(teeTCBSVN[0])))
	}
	return r, nil
}

// checkModule compares MRSIGNERSEAM and the masked SEAM attributes with the
// TCB info's values.
func checkModule(q *quote, mrsigner, attrs, mask []byte) error {
	got := q.body[bodyMRSignerSeam : bodyMRSignerSeam+48]
	if !bytes.Equal(got, mrsigner) {
		return verifier.Reject(checkTDXModule, "MRSIGNERSEAM %x is not the TCB info's %x", got, mrsigner)
	}
	seamAttrs := q.body[bodySeamAttrs : bodySeamAttrs+8]
	if len(mask) != len(seamAttrs) || len(attrs) != len(seamAttrs) {
		return verifier.Reject(checkCollateral, "TCB info SEAM attributes and mask are %d and %d bytes, want 8", len(attrs), len(mask))
	}
	for i := range seamAttrs {
		if seamAttrs[i]&mask[i] != attrs[i] {
			return verifier.Reject(checkTDXModule, "SEAM attributes %x under mask %x are not the TCB info's %x", seamAttrs, mask, attrs)
		}
	}
	return nil
}

// matchPlatformLevel returns the first TCB level (Intel lists them newest
// first) that the platform meets: every SGX component SVN and the PCE SVN of
// the PCK certificate, and every TDX component of TEE_TCB_SVN, at least the
// level's. When a TDX module identity applies, TEE_TCB_SVN bytes 0 and 1 are
// its SVN and version and are not compared here.
func matchPlatformLevel(levels []pcs.TcbLevel, ext *pcs.PckExtensions, teeTCBSVN []byte) *pcs.TcbLevel {
	start := 0
	if teeTCBSVN[1] > 0 {
		start = 2
	}
	for i := range levels {
		l := &levels[i]
		if len(l.Tcb.SgxTcbcomponents) != 16 || len(l.Tcb.TdxTcbcomponents) != 16 {
			continue
		}
		if ext.TCB.PCESvn < l.Tcb.Pcesvn || !componentsAtLeast(ext.TCB.CPUSvnComponents, l.Tcb.SgxTcbcomponents, 0) {
			continue
		}
		if componentsAtLeast(teeTCBSVN, l.Tcb.TdxTcbcomponents, start) {
			return l
		}
	}
	return nil
}

func componentsAtLeast(svns []byte, want []pcs.TcbComponent, start int) bool {
	if len(svns) != len(want) {
		return false
	}
	for i := start; i < len(svns); i++ {
		if svns[i] < want[i].Svn {
			return false
		}
	}
	return true
}

// matchISVSVN returns the first level whose isvsvn is at most svn; Intel
// lists levels newest first. With no such level the enclave's SVN is older
// than any Intel still lists, and the result is TCBStatusNoMatch.
func matchISVSVN(levels []pcs.TcbLevel, svn uint32) *tcbResult {
	for _, l := range levels {
		if l.Tcb.Isvsvn <= svn {
			return &tcbResult{status: string(l.TcbStatus), date: parseDate(l.TcbDate), advisory: l.AdvisoryIDs}
		}
	}
	return &tcbResult{status: verifier.TCBStatusNoMatch}
}

// matchQEIdentity checks the QE report against the QE identity (MISCSELECT
// and attributes under their masks, MRSIGNER, ISV product ID) and returns
// the QE's TCB level.
func matchQEIdentity(id *pcs.EnclaveIdentity, report []byte) (*tcbResult, error) {
	if len(id.Miscselect.Bytes) != 4 || len(id.MiscselectMask.Bytes) != 4 || len(id.Attributes.Bytes) != 16 || len(id.AttributesMask.Bytes) != 16 {
		return nil, verifier.Reject(checkCollateral, "QE identity MISCSELECT, attributes or their masks have the wrong size")
	}
	misc := binary.LittleEndian.Uint32(report[16:20])
	if misc&binary.LittleEndian.Uint32(id.MiscselectMask.Bytes) != binary.LittleEndian.Uint32(id.Miscselect.Bytes) {
		return nil, verifier.Reject(checkQEIdentity, "QE MISCSELECT %08x does not match the QE identity", misc)
	}
	attrs := report[48:64]
	for i := range attrs {
		if attrs[i]&id.AttributesMask.Bytes[i] != id.Attributes.Bytes[i] {
			return nil, verifier.Reject(checkQEIdentity, "QE attributes %x do not match the QE identity", attrs)
		}
	}
	if mrsigner := report[128:160]; !bytes.Equal(mrsigner, id.Mrsigner.Bytes) {
		return nil, verifier.Reject(checkQEIdentity, "QE MRSIGNER %x is not the QE identity's %x", mrsigner, id.Mrsigner.Bytes)
	}
	if prodID := binary.LittleEndian.Uint16(report[256:258]); prodID != id.IsvProdID {
		return nil, verifier.Reject(checkQEIdentity, "QE ISV product ID %d is not the QE identity's %d", prodID, id.IsvProdID)
	}
	svn := binary.LittleEndian.Uint16(report[qeISVSVNOffset : qeISVSVNOffset+2])
	return matchISVSVN(id.TcbLevels, uint32(svn)), nil
}

// converge combines the platform status with the status of a component (the
// TDX module identity or the QE) the way Intel's quote verification library
// does: an out-of-date component makes the platform OutOfDate (keeping
// "ConfigurationNeeded"), a revoked one makes it Revoked, and a component
// without a matching level makes the result TCBStatusNoMatch.
func (r *tcbResult) converge(c *tcbResult) {
	r.advisory = appendNew(r.advisory, c.advisory...)
	if r.status == verifier.TCBStatusNoMatch {
		return
	}
	switch c.status {
	case verifier.TCBStatusNoMatch, verifier.TCBStatusRevoked:
		r.status = c.status
	case verifier.TCBStatusOutOfDate, verifier.TCBStatusOutOfDateConfigurationNeeded:
		switch r.status {
		case verifier.TCBStatusConfigurationNeeded, verifier.TCBStatusConfigurationAndSWHardeningNeeded, verifier.TCBStatusOutOfDateConfigurationNeeded:
			r.status = verifier.TCBStatusOutOfDateConfigurationNeeded
		case verifier.TCBStatusRevoked:
		default:
			r.status = verifier.TCBStatusOutOfDate
		}
	}
	// An older component level dates the whole TCB.
	if !c.date.IsZero() && c.date.Before(r.date) {
		r.date = c.date
	}
}

func appendNew(list []string, items ...string) []string {
	for _, it := range items {
		if !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}

func (r *tcbResult) result(info *pcs.TcbInfo) *verifier.TCB {
	t := &verifier.TCB{Status: r.status, AdvisoryIDs: r.advisory, CRLChecked: true}
	if r.status != verifier.TCBStatusNoMatch {
		t.Date = r.date
	}
	for _, l := range info.TcbLevels {
		if d := parseDate(l.TcbDate); d.After(t.NewerLevelDate) {
			t.NewerLevelDate = d
		}
	}
	return t
}

// parseDate parses an RFC 3339 tcbDate; a malformed one reads as zero.
func parseDate(s string) time.Time {
	d, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return d.UTC()
}
