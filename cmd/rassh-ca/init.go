package main

import (
	"crypto/rand"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rassh/rassh/ca"
	"github.com/rassh/rassh/store"
	"github.com/rassh/rassh/verifier/policy"
	"github.com/rassh/rassh/verifier/tokenissuer"
)

func init() {
	commands["init"] = command{Summary: "create a CA: key, configuration, store and first admin token", Run: runInit}
}

// Files that init creates in the CA directory.
const (
	configFile     = "config.yaml"
	caKeyFile      = "ca_key"
	storeFile      = "rassh-ca.db"
	adminTokenFile = "admin-token"
	// tokenServiceKeyFile is the token service's signing key, kept apart
	// from the SSH CA key.
	tokenServiceKeyFile = "token-service.key"
)

type initOptions struct {
	Dir             string
	KeyType         string
	HostPatterns    []string
	Listen          string
	Collateral      string
	CollateralDir   string
	Policy          string
	SimulationRoots []string

	// TokenService enables the token service in the written configuration;
	// its key is generated either way.
	TokenService        bool
	TokenIssuer         string
	TokenAllowSimulated bool
}

// initResult contains the values that init prints for the operator.
type initResult struct {
	TLSFingerprint string
	AdminToken     string
	TokenKid       string // key ID of the token service's signing key
}

func runInit(args []string) int {
	fs := flag.NewFlagSet("rassh-ca init", flag.ContinueOnError)
	var o initOptions
	var patterns, roots string
	fs.StringVar(&o.Dir, "dir", "", "directory for the new CA (created with mode 0700; must not hold a CA yet)")
	fs.StringVar(&o.KeyType, "key-type", ca.KeyEd25519, "CA key type: "+strings.Join(ca.KeyTypes, ", "))
	fs.StringVar(&patterns, "host-patterns", "", "comma-separated host patterns the CA may certify, for example '*.fleet.example.com'")
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:8443", "address the API listens on")
	fs.StringVar(&o.Collateral, "collateral", "pcs", "where TDX collateral comes from: pcs (Intel PCS), dir (--collateral-dir) or none")
	fs.StringVar(&o.CollateralDir, "collateral-dir", "", "directory of Intel PCS response files, required with --collateral dir")
	fs.StringVar(&o.Policy, "policy", "", "attestation policy file (empty: the default CA policy)")
	fs.StringVar(&roots, "simulation-roots", "", "comma-separated PEM files of simulated-TD roots to trust (development only)")
	fs.BoolVar(&o.TokenService, "token-service", true, "enable the token service (POST /v1/attest, GET /v1/jwks) for ra-ssh agents")
	fs.StringVar(&o.TokenIssuer, "token-service-issuer", "", "https `URL` that clients pin as the token issuer (empty: https://<listen address>)")
	fs.BoolVar(&o.TokenAllowSimulated, "token-service-allow-simulated", false, "issue tokens for simulated TDs (development only)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	o.HostPatterns = splitList(patterns)
	o.SimulationRoots = splitList(roots)
	if err := absPaths(&o.Policy, &o.CollateralDir, o.SimulationRoots); err != nil {
		fmt.Fprintf(os.Stderr, "rassh-ca init: %v\n", err)
		return exitUsage
	}
	if o.Dir == "" || len(o.HostPatterns) == 0 || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "rassh-ca init: --dir and --host-patterns are required, and no arguments are allowed")
		fs.Usage()
		return exitUsage
	}
	if err := checkInitOptions(o); err != nil {
		fmt.Fprintf(os.Stderr, "rassh-ca init: %v\n", err)
		return exitUsage
	}
	warnInitOptions(o)

	res, err := initCA(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "rassh-ca init: %v\n", err)
		return exitRejected
	}
	printInitResult(o, res)
	return exitOK
}

func printInitResult(o initOptions, res initResult) {
	fmt.Printf("created CA in %s\n", o.Dir)
	fmt.Printf("  configuration:  %s\n", filepath.Join(o.Dir, configFile))
	fmt.Printf("  CA public key:  %s\n", filepath.Join(o.Dir, caKeyFile+".pub"))
	fmt.Printf("  admin token:    %s (token ID %s)\n", filepath.Join(o.Dir, adminTokenFile), store.TokenID(res.AdminToken))
	fmt.Printf("  TLS certificate fingerprint (self-signed, development): %s\n", res.TLSFingerprint)
	state := "disabled"
	if o.TokenService {
		state = "enabled, issuer " + o.TokenIssuer
		if o.TokenIssuer == "" {
			state = "enabled, issuer https://" + o.Listen + " (the listen address)"
		}
	}
	fmt.Printf("  token service:  %s; key %s (kid %s)\n", state, filepath.Join(o.Dir, tokenServiceKeyFile), res.TokenKid)
	fmt.Printf("start it with: rassh-ca serve --config %s\n", filepath.Join(o.Dir, configFile))
}

// tokenIssuerAtInit returns the issuer URL for the key that init generates.
// Only the key ID is used; serve sets the URL again from the configuration.
func tokenIssuerAtInit(o initOptions) string {
	if o.TokenIssuer != "" {
		return o.TokenIssuer
	}
	return "https://" + o.Listen
}

// checkInitOptions checks the flag values before init creates anything, so
// that a typo leaves no directory behind.
func checkInitOptions(o initOptions) error {
	for _, p := range o.HostPatterns {
		if err := ca.ValidatePattern(p); err != nil {
			return err
		}
	}
	if err := checkInitKeyAndCollateral(o); err != nil {
		return err
	}
	if o.TokenIssuer != "" {
		if err := checkIssuerURL(o.TokenIssuer); err != nil {
			return fmt.Errorf("--token-service-issuer: %w", err)
		}
	}
	return nil
}

// warnInitOptions prints a warning for each valid but risky choice in o.
func warnInitOptions(o initOptions) {
	if o.Collateral == "none" && policyRequiresCollateral(o.Policy) {
		fmt.Fprintln(os.Stderr, "rassh-ca init: warning: --collateral none with a policy that requires collateral (the default policy does): every enrollment will be rejected; use --collateral pcs or dir, or a --policy with require_collateral: false")
	}
	if o.TokenAllowSimulated {
		fmt.Fprintln(os.Stderr, "rassh-ca init: warning: the token service will issue tokens for simulated TDs; use this for development only")
	}
}

// checkInitKeyAndCollateral checks --key-type, --collateral and
// --collateral-dir.
func checkInitKeyAndCollateral(o initOptions) error {
	if !slices.Contains(ca.KeyTypes, o.KeyType) {
		return fmt.Errorf("--key-type %q unknown (expected one of %s)", o.KeyType, strings.Join(ca.KeyTypes, ", "))
	}
	switch o.Collateral {
	case "pcs", "none":
		if o.CollateralDir != "" {
			return fmt.Errorf("--collateral-dir needs --collateral dir, not %q", o.Collateral)
		}
	case "dir":
		if o.CollateralDir == "" {
			return errors.New("--collateral dir needs --collateral-dir DIR, the directory of Intel PCS response files")
		}
		info, err := os.Stat(o.CollateralDir)
		if err != nil {
			return fmt.Errorf("--collateral-dir: %w", err)
		}
		if !info.IsDir() {
			return fmt.Errorf("--collateral-dir %s is not a directory", o.CollateralDir)
		}
	default:
		return fmt.Errorf("--collateral %q unknown (expected pcs, dir or none)", o.Collateral)
	}
	return nil
}

// policyRequiresCollateral reports whether the policy at path, or the
// default CA policy when path is empty, requires collateral. A file that does
// not load counts as not requiring it, because serve reports that error.
func policyRequiresCollateral(path string) bool {
	if path == "" {
		return policy.DefaultCA().RequireCollateral
	}
	p, err := policy.Load(path)
	return err == nil && p.RequireCollateral
}

// absPaths makes the given paths absolute, since the configuration resolves
// relative paths against its own directory, not the working directory.
func absPaths(policy, collateralDir *string, roots []string) error {
	var err error
	for _, p := range []*string{policy, collateralDir} {
		if *p == "" {
			continue
		}
		if *p, err = filepath.Abs(*p); err != nil {
			return err
		}
	}
	for i := range roots {
		if roots[i], err = filepath.Abs(roots[i]); err != nil {
			return err
		}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// initCA creates the CA directory's files. It refuses to touch a directory
// that already holds any of them.
// When init creates the directory itself and then fails, it removes the
// directory again, so that a second attempt does not find half a CA.
func initCA(o initOptions) (res initResult, err error) {
	if _, statErr := os.Lstat(o.Dir); errors.Is(statErr, os.ErrNotExist) {
		defer func() {
			if err != nil {
				os.RemoveAll(o.Dir)
			}
		}()
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return res, err
	}
	for _, name := range []string{configFile, caKeyFile, caKeyFile + ".pub", tokenServiceKeyFile, storeFile, adminTokenFile, selfSignedCert, selfSignedKey} {
		if _, err := os.Lstat(filepath.Join(o.Dir, name)); err == nil {
			return res, fmt.Errorf("%s already exists: refusing to overwrite an existing CA; choose another --dir", filepath.Join(o.Dir, name))
		} else if !errors.Is(err, os.ErrNotExist) {
			return res, err
		}
	}

	if err := writeCAKey(o.Dir, o.KeyType); err != nil {
		return res, err
	}
	// The token service signs with a key of its own, never the SSH CA key.
	issuer, err := tokenissuer.Generate(filepath.Join(o.Dir, tokenServiceKeyFile), tokenIssuerAtInit(o))
	if err != nil {
		return res, err
	}
	res.TokenKid = issuer.Kid()
	if err := writeConfigFile(o); err != nil {
		return res, err
	}
	if res.TLSFingerprint, err = ensureSelfSigned(o.Dir, []string{"localhost", "127.0.0.1", "::1"}, time.Now()); err != nil {
		return res, err
	}
	if res.AdminToken, err = createAdminToken(filepath.Join(o.Dir, storeFile), true, "created by rassh-ca init"); err != nil {
		return res, err
	}
	return res, writeNew(filepath.Join(o.Dir, adminTokenFile), []byte(res.AdminToken+"\n"), 0o600)
}

func writeCAKey(dir, keyType string) error {
	key, err := ca.GenerateKey(keyType)
	if err != nil {
		return err
	}
	block, err := ssh.MarshalPrivateKey(key, "rassh CA")
	if err != nil {
		return fmt.Errorf("encode CA key: %w", err)
	}
	signer, err := ca.NewSigner(key)
	if err != nil {
		return err
	}
	if err := writeNew(filepath.Join(dir, caKeyFile), pem.EncodeToMemory(block), 0o600); err != nil {
		return err
	}
	pub := ca.AuthorizedLine(signer.PublicKey()) + " rassh-ca\n"
	return writeNew(filepath.Join(dir, caKeyFile+".pub"), []byte(pub), 0o644)
}

// createAdminToken stores a new admin token in the store at path and returns
// it. The store must not be open in another process.
func createAdminToken(path string, create bool, comment string) (string, error) {
	st, err := store.Open(path, create)
	if err != nil {
		return "", err
	}
	defer st.Close()
	token, err := store.NewToken(rand.Reader, store.AdminTokenPrefix)
	if err != nil {
		return "", err
	}
	t := store.AdminToken{ID: store.TokenID(token), CreatedAt: time.Now().UTC(), Comment: comment}
	if err := st.PutAdminToken(token, t); err != nil {
		return "", err
	}
	ev := store.Event{Time: t.CreatedAt, Action: "admin-token.create", Outcome: store.OutcomeAccepted, Admin: t.ID, Reason: comment}
	if _, err := st.AppendAudit(ev); err != nil {
		return "", err
	}
	return token, nil
}

// writeNew creates a file that must not exist yet.
func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeConfigFile(o initOptions) error {
	var b strings.Builder
	data := struct {
		initOptions
		TokenKeyFile string
	}{o, tokenServiceKeyFile}
	if err := configTemplate.Execute(&b, data); err != nil {
		return err
	}
	return writeNew(filepath.Join(o.Dir, configFile), []byte(b.String()), 0o600)
}

var configTemplate = template.Must(template.New("config").Funcs(template.FuncMap{"quote": quoteList}).Parse(`# rassh-ca configuration (YAML). Relative paths are relative to this file's
# directory. Unknown fields are errors.

# Address of the HTTPS API.
listen: "{{.Listen}}"
# CA private key, OpenSSH format, mode 0600.
ca_key: ca_key
# bbolt store: challenges, tokens, registrations, hosts, certificates, audit log.
store: rassh-ca.db

tls:
  # Server certificate and key (PEM). Both empty: use self-signed.crt and
  # self-signed.key here, generated on first use. Development only: agents
  # then pin the certificate's SHA-256 fingerprint (--ca-fingerprint).
  cert: ""
  key: ""
  # Names and addresses of a generated certificate.
  hosts: ["localhost", "127.0.0.1", "::1"]

log:
  format: json   # json or text
  level: info    # debug, info, warn or error

certificates:
  # Every principal must match one of these patterns (* and ? wildcards).
  # They are also the patterns of the @cert-authority line served at /v1/ca.
  host_patterns: [{{quote .HostPatterns}}]
  lifetime: 8h   # validity after issue
  backdate: 5m   # valid-after moved back for clock skew
  # Mark every certificate as requiring ra-ssh (hosts may also ask for it).
  require_ra_ssh: false
  # Accept enrollments that do not prove possession of each host key (a
  # signature by the key over the enrollment binding). Leave it off: with
  # it, a host can get certificates for another host's public key.
  # rassh-agent always signs, with in-memory keys or with key files it can
  # read.
  allow_missing_host_key_proof: false

challenges:
  ttl: 5m        # how long an enrollment nonce may be used
  # Challenges one source address (IPv4 address or IPv6 /64) may get: a
  # burst, then this many per second. More get 429 with Retry-After.
  rate_per_source: 0.2
  burst_per_source: 20

api:
  max_body_bytes: 262144
  # Source addresses whose rate limits are kept in memory; the least
  # recently seen is dropped beyond it.
  max_sources: 10000

verifier:
  mode: local    # local (quotes verified here) or maa (Microsoft Azure Attestation)
  local:
    # pcs: fetch Intel collateral from PCS into pcs_cache_dir; dir: read it
    # from collateral_dir; none: no TCB status (the default policy then
    # rejects every quote).
    collateral: {{.Collateral}}
    collateral_dir: {{printf "%q" .CollateralDir}}
    pcs_base_url: ""       # empty: Intel's PCS
    pcs_cache_dir: pcs-cache
    # PEM files of simulated-TD roots to trust. Development and tests only:
    # their quotes come from software, not from a TD.
    simulation_roots: [{{quote .SimulationRoots}}]
    # MRTDs (96 hex digits) of the Azure paravisor versions you trust. Only
    # Azure quotes with one of them carry a vmUniqueId that registrations can
    # name: any TD can quote runtime data of its own making. Empty: Azure
    # hosts verified here need join tokens (MAA mode needs no list, because
    # MAA attests that the VM is a compliant Azure CVM).
    azure_paravisor_mrtds: []
  maa:
    instance_url: ""       # for example https://sharedeus2.eus2.attest.azure.net
    api_version: ""
    key_cache_dir: maa-keys

# Attestation policy file. Empty: collateral required, TCB status UpToDate,
# no debug TDs, no simulated TDs.
policy: {{printf "%q" .Policy}}

# The token service gives ra-ssh agents on hosts without MAA their tokens:
# POST /v1/attest verifies evidence with the local verifier above and returns
# a token with the claims, GET /v1/jwks serves the token key. The policy
# above does not apply to it, because clients check the claims against
# their own policy. It needs verifier.mode local: with maa, set enabled to
# false and point the agents at MAA.
token_service:
  enabled: {{.TokenService}}
  # Token signing key (ECDSA P-256, PKCS#8 PEM, mode 0600); never the SSH CA key.
  key: {{.TokenKeyFile}}
  # The tokens' iss and the base URL of /v1/jwks: clients pin this issuer
  # with jwks_url <issuer>/v1/jwks. Empty: https://<listen address>, with
  # the port actually bound. Set it when clients reach the CA by a name.
  issuer: {{printf "%q" .TokenIssuer}}
  token_lifetime: 5m     # exp - iat of each token
  # Issue tokens for simulated TDs. Development only.
  allow_simulated: {{.TokenAllowSimulated}}
  rate: 2                # attest requests per second, all clients together
  burst: 10              # attest requests that may arrive at once (more get 429)
  # The same limits for one source address (IPv4 address or IPv6 /64), so
  # that one client cannot take all of the rate above.
  rate_per_source: 0.5
  burst_per_source: 5
`))

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
