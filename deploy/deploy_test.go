// Package deploy holds the container and Kubernetes files; its test checks
// them against the real binary, since CI has no Docker engine or cluster:
// every command they run is a latchkey subcommand, every LATCHKEY_ variable
// is one latchkey reads, ports agree, and probe paths answer 200.
package deploy

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/latchkey-dev/latchkey/internal/config"
	"github.com/latchkey-dev/latchkey/internal/secrets"
)

// --- the binary and a running server ---

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// latchkeyBin builds cmd/latchkey once for the package's tests.
func latchkeyBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "latchkey-deploy-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "latchkey")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/latchkey").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// cleanEnv is the environment without LATCHKEY_* settings, plus env.
func cleanEnv(env ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LATCHKEY_") {
			out = append(out, kv)
		}
	}
	return append(out, env...)
}

// run runs the binary and returns its exit code and combined output.
func run(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, latchkeyBin(t), args...)
	cmd.Dir, cmd.Env = t.TempDir(), cleanEnv(env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatalf("run latchkey %v: %v", args, err)
	}
	return 0, string(out)
}

// assertSubcommand fails unless args[0] names a latchkey subcommand: an
// unknown one makes `latchkey NAME --help` fail, a known one prints its help.
func assertSubcommand(t *testing.T, where string, args []string) {
	t.Helper()
	if len(args) == 0 {
		t.Errorf("%s: no subcommand (the image's default is serve, but say it)", where)
		return
	}
	if code, out := run(t, nil, args[0], "--help"); code != 0 {
		t.Errorf("%s: %q is not a latchkey subcommand: exit %d\n%s", where, args[0], code, out)
	}
}

var listening = regexp.MustCompile(`latchkey listening on (http://\S+)`)

// startServer runs `latchkey serve` with env on a free port in a temporary
// directory, and returns its base URL; it is stopped when the test ends.
func startServer(t *testing.T, env ...string) string {
	t.Helper()
	cmd := exec.Command(latchkeyBin(t), "serve")
	cmd.Dir = t.TempDir()
	cmd.Env = cleanEnv(append([]string{"LATCHKEY_ADDR=127.0.0.1:0"}, env...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() { // read to the end so serve never blocks on a full pipe
			if m := listening.FindStringSubmatch(sc.Text()); m != nil && !sent {
				urls <- m[1]
				sent = true
			}
		}
		close(urls)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	select {
	case u, ok := <-urls:
		if !ok {
			cmd.Wait()
			t.Fatalf("serve exited before listening: %s", stderr.String())
		}
		return u
	case <-time.After(time.Minute):
		t.Fatalf("serve printed no address within a minute: %s", stderr.String())
		return ""
	}
}

// assertPath fails unless GET base+path answers 200.
func assertPath(t *testing.T, where, base, path string) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Errorf("%s: GET %s: %v", where, path, err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("%s: GET %s answered %d: %s", where, path, resp.StatusCode, body)
	}
}

// --- settings ---

// settingNames are the environment variables config.Load reads: it asks
// getenv for each of them, so recording the questions lists them without a
// copy that could go stale.
func settingNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	_, err := config.Load("", func(k string) string { names[k] = true; return "" }, nil)
	if err != nil {
		t.Fatalf("config.Load with defaults: %v", err)
	}
	if !names["LATCHKEY_DB"] || !names["LATCHKEY_SECRET"] { // the trick still works
		t.Fatalf("config.Load asked for %v, without LATCHKEY_DB or LATCHKEY_SECRET", names)
	}
	return names
}

// assertEnv checks every LATCHKEY_ name of env is a setting, and, when
// values has them, that the settings load (a literal DSN or address is valid).
func assertEnv(t *testing.T, where string, names map[string]bool, env map[string]string) {
	t.Helper()
	for k := range env {
		if strings.HasPrefix(k, "LATCHKEY_") && !names[k] {
			t.Errorf("%s: %s is not a latchkey setting", where, k)
		}
	}
	if _, err := config.Load("", func(k string) string { return env[k] }, nil); err != nil {
		t.Errorf("%s: the environment does not load: %v", where, err)
	}
}

// portOf is the port of a HOST:PORT address.
func portOf(t *testing.T, where, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s: LATCHKEY_ADDR %q: %v", where, addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n == 0 {
		t.Fatalf("%s: LATCHKEY_ADDR %q has no fixed port", where, addr)
	}
	return n
}

// --- Dockerfile and Dockerfile.release ---

// dockerCopy is one COPY instruction: its sources and destination.
type dockerCopy struct {
	from, chown string // --from=, --chown=
	src         []string
	dst         string
}

// dockerStage is the final stage of a Dockerfile, the instructions the image runs with.
type dockerStage struct {
	stages      []string // every FROM of the file, in order
	from        string
	env         map[string]string
	expose      []string
	user        string
	workdir     string
	volumes     []string
	copies      []dockerCopy
	healthcheck []string // the exec form after CMD
	entrypoint  []string
	cmd         []string
}

// parseDockerfile reads the instructions this test needs from the last stage.
// It knows the exec (JSON) form only: the image has no shell for the other.
func parseDockerfile(t *testing.T, path string) dockerStage {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(path)
	var lines []string
	var cur strings.Builder
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "#") || (l == "" && cur.Len() == 0) {
			continue
		}
		if s, ok := strings.CutSuffix(l, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(l)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	exec := func(s string) []string {
		var v []string
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatalf("%s: %q is not the exec form: %v", name, s, err)
		}
		return v
	}
	var st dockerStage
	for _, l := range lines {
		instr, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			st = dockerStage{stages: append(st.stages, rest), from: rest, env: map[string]string{}}
		case "ENV":
			for _, kv := range strings.Fields(rest) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("%s: ENV %q: use KEY=VALUE", name, kv)
				}
				st.env[k] = v
			}
		case "EXPOSE":
			st.expose = strings.Fields(rest)
		case "USER":
			st.user = rest
		case "WORKDIR":
			st.workdir = rest
		case "VOLUME":
			st.volumes = append(st.volumes, strings.Fields(rest)...)
		case "COPY":
			var c dockerCopy
			args := strings.Fields(rest)
			for len(args) > 0 && strings.HasPrefix(args[0], "--") {
				k, v, _ := strings.Cut(args[0], "=")
				switch k {
				case "--from":
					c.from = v
				case "--chown":
					c.chown = v
				}
				args = args[1:]
			}
			if len(args) < 2 || strings.HasPrefix(args[0], "[") {
				t.Fatalf("%s: COPY %q: want COPY [--flags] SRC... DST", name, rest)
			}
			c.src, c.dst = args[:len(args)-1], args[len(args)-1]
			st.copies = append(st.copies, c)
		case "HEALTHCHECK":
			_, c, ok := strings.Cut(rest, " CMD ")
			if !ok {
				t.Fatalf("%s: HEALTHCHECK %q has no CMD", name, rest)
			}
			st.healthcheck = exec(c)
		case "ENTRYPOINT":
			st.entrypoint = exec(rest)
		case "CMD":
			st.cmd = exec(rest)
		}
	}
	return st
}

// checkImage checks what both images promise: the binary on scratch as
// /latchkey, non-root, a health check and a command that are latchkey
// subcommands, settings in the /data volume, EXPOSE on LATCHKEY_ADDR's port;
// then serve starts on those settings and the health check reports ready.
func checkImage(t *testing.T, name string, st dockerStage) {
	t.Helper()
	if st.from != "scratch" {
		t.Errorf("%s: final stage is FROM %q, want scratch", name, st.from)
	}
	if !slices.Equal(st.entrypoint, []string{"/latchkey"}) {
		t.Errorf("%s: ENTRYPOINT %q, want [/latchkey]", name, st.entrypoint)
	}
	assertSubcommand(t, name+" CMD", st.cmd)
	if len(st.healthcheck) < 2 || st.healthcheck[0] != "/latchkey" {
		t.Fatalf("%s: HEALTHCHECK CMD %q does not run /latchkey", name, st.healthcheck)
	}
	assertSubcommand(t, name+" HEALTHCHECK", st.healthcheck[1:])
	if u, _, _ := strings.Cut(st.user, ":"); u != "65532" {
		t.Errorf("%s: USER %q, want 65532 (not root)", name, st.user)
	}

	names := settingNames(t)
	assertEnv(t, name+" ENV", names, st.env)
	for _, k := range []string{"LATCHKEY_DB", "LATCHKEY_SECRET_FILE"} {
		if v := st.env[k]; !strings.Contains(v, "/data/") {
			t.Errorf("%s: ENV %s=%q is not in the /data volume", name, k, v)
		}
	}
	port := portOf(t, name, st.env["LATCHKEY_ADDR"])
	if !slices.Equal(st.expose, []string{strconv.Itoa(port)}) {
		t.Errorf("%s: EXPOSE %v, LATCHKEY_ADDR port %d", name, st.expose, port)
	}

	// The image's settings with /data moved to a temporary directory and a
	// free port: serve starts on them, and the HEALTHCHECK command, given
	// only LATCHKEY_ADDR as in the container, reports ready.
	data := t.TempDir()
	var env []string
	for k, v := range st.env {
		if k != "LATCHKEY_ADDR" {
			env = append(env, k+"="+strings.ReplaceAll(v, "/data/", data+"/"))
		}
	}
	base := startServer(t, env...)
	hostport := strings.TrimPrefix(base, "http://")
	if code, out := run(t, []string{"LATCHKEY_ADDR=" + hostport}, st.healthcheck[1:]...); code != 0 {
		t.Errorf("%s: HEALTHCHECK %q exited %d:\n%s", name, st.healthcheck, code, out)
	}
	if _, err := os.Stat(filepath.Join(data, "latchkey.secret")); err != nil {
		t.Errorf("%s: the system secret was not created in the volume: %v", name, err)
	}
}

func TestDockerfile(t *testing.T) {
	checkImage(t, "Dockerfile", parseDockerfile(t, "../Dockerfile"))
}

// releaseArchives reads from scripts/release.sh how it names its linux
// archives and the binary in them, so a change there that the release image
// would not follow fails here. It returns the linux arches it builds.
func releaseArchives(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../scripts/release.sh")
	if err != nil {
		t.Fatal(err)
	}
	script := string(data)
	// deploy/release-image.sh looks for latchkey_<version>_linux_<arch>.tar.gz
	// holding latchkey_<version>_linux_<arch>/latchkey.
	for _, want := range []string{
		`name="latchkey_${version}_${goos}_${goarch}"`,
		`dir="$work/$name"`,
		`exe=latchkey` + "\n",
		`-o "$dir/$exe"`,
		`archive="$name.tar.gz"`,
		`tar_reproducible "$outdir/$archive" "$dir"`,
		`sha256sum "${archives[@]}" >SHA256SUMS`,
	} {
		if !strings.Contains(script, want) {
			t.Errorf("scripts/release.sh no longer has %q: update deploy/release-image.sh and this test to its outputs", want)
		}
	}
	list := func(v string) []string {
		m := regexp.MustCompile(`for ` + v + ` in ([a-z0-9 ]+); do`).FindStringSubmatch(script)
		if m == nil {
			t.Fatalf("scripts/release.sh: no `for %s in …` loop", v)
		}
		return strings.Fields(m[1])
	}
	if !slices.Contains(list("goos"), "linux") {
		t.Fatalf("scripts/release.sh builds no linux archive: %v", list("goos"))
	}
	return list("goarch")
}

// fakeRelease writes a release directory as scripts/release.sh lays it out,
// with bin as the binary of each linux archive, and returns its path.
func fakeRelease(t *testing.T, version, bin string, arches []string) string {
	t.Helper()
	exe, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	dist := t.TempDir()
	var sums strings.Builder
	for _, arch := range arches {
		name := fmt.Sprintf("latchkey_%s_linux_%s", version, arch)
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		tw := tar.NewWriter(zw)
		for _, f := range []struct {
			name string
			mode int64
			body []byte
		}{{name + "/LICENSE", 0o644, []byte("license\n")}, {name + "/latchkey", 0o755, exe}} {
			if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
				t.Fatal(err)
			}
			if _, err := tw.Write(f.body); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		archive := name + ".tar.gz"
		if err := os.WriteFile(filepath.Join(dist, archive), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sums, "%x  %s\n", sha256.Sum256(buf.Bytes()), archive)
	}
	if err := os.WriteFile(filepath.Join(dist, "SHA256SUMS"), []byte(sums.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dist
}

// releaseImage runs deploy/release-image.sh with args and returns its exit
// code and combined output.
func releaseImage(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{"release-image.sh"}, args...)...)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatalf("release-image.sh: %v", err)
	}
	return 0, string(out)
}

// TestDockerfileRelease checks Dockerfile.release as TestDockerfile checks
// Dockerfile, and that it needs no registry: every stage is scratch, and
// every file it copies is in the context deploy/release-image.sh makes from
// scripts/release.sh's archives, at the place the image uses it.
func TestDockerfileRelease(t *testing.T) {
	st := parseDockerfile(t, "../Dockerfile.release")
	checkImage(t, "Dockerfile.release", st)
	for _, from := range st.stages {
		if from != "scratch" {
			t.Errorf("Dockerfile.release: FROM %q needs a registry; want scratch only", from)
		}
	}
	// Both images run alike, so compose and the Kubernetes manifests work with either.
	src := parseDockerfile(t, "../Dockerfile")
	for what, same := range map[string]bool{
		"ENV":         maps.Equal(st.env, src.env),
		"EXPOSE":      slices.Equal(st.expose, src.expose),
		"USER":        st.user == src.user,
		"HEALTHCHECK": slices.Equal(st.healthcheck, src.healthcheck),
		"ENTRYPOINT":  slices.Equal(st.entrypoint, src.entrypoint),
		"CMD":         slices.Equal(st.cmd, src.cmd),
	} {
		if !same {
			t.Errorf("Dockerfile.release's %s differs from Dockerfile's", what)
		}
	}
	if st.workdir != "/data" || !slices.Equal(st.volumes, []string{"/data"}) {
		t.Errorf("Dockerfile.release: WORKDIR %q, VOLUME %v; want /data for both", st.workdir, st.volumes)
	}

	// Where each file of the image comes from in the context.
	files := map[string]string{} // path in the image -> path in the context
	var dataChown string
	for _, c := range st.copies {
		if c.from != "" {
			t.Errorf("Dockerfile.release: COPY --from=%s: the context must hold everything", c.from)
		}
		for _, s := range c.src {
			dst := c.dst
			if strings.HasSuffix(dst, "/") || len(c.src) > 1 {
				dst = strings.TrimSuffix(dst, "/") + "/" + filepath.Base(s)
			}
			files[dst] = s
			if dst == "/data" {
				dataChown = c.chown
			}
		}
	}

	arches := releaseArchives(t)
	for _, want := range []string{"amd64", "arm64"} {
		if !slices.Contains(arches, want) {
			t.Errorf("scripts/release.sh builds no linux/%s archive", want)
		}
	}
	bin := latchkeyBin(t)
	dist := fakeRelease(t, "0.0.0-TEST", bin, arches)
	ca := filepath.Join(t.TempDir(), "roots.pem")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.ReadFile(bin)
	for _, arch := range arches {
		ctxDir := filepath.Join(t.TempDir(), "context")
		code, out := releaseImage(t, "--arch", arch, "--ca-bundle", ca, "--context", ctxDir, dist)
		if code != 0 {
			t.Fatalf("release-image.sh --arch %s: exit %d\n%s", arch, code, out)
		}
		for _, want := range []string{"Dockerfile.release", "linux/" + arch, "latchkey:0.0.0-TEST"} {
			if !strings.Contains(out, want) {
				t.Errorf("release-image.sh --arch %s: the build command it prints has no %q:\n%s", arch, want, out)
			}
		}
		inCtx := func(imagePath string) string {
			s, ok := files[imagePath]
			if !ok {
				t.Errorf("Dockerfile.release copies nothing to %s", imagePath)
				return ""
			}
			return filepath.Join(ctxDir, s)
		}
		// Every source is in the context.
		for _, s := range files {
			if _, err := os.Stat(filepath.Join(ctxDir, s)); err != nil {
				t.Errorf("--arch %s: Dockerfile.release copies %s, not in the context: %v", arch, s, err)
			}
		}
		// The entrypoint is the archive's binary, executable.
		if p := inCtx(st.entrypoint[0]); p != "" {
			got, err := os.ReadFile(p)
			if err != nil || !bytes.Equal(got, exe) {
				t.Errorf("--arch %s: %s in the image is not the archive's binary (%v)", arch, st.entrypoint[0], err)
			} else if out, err := exec.Command(p, "version").CombinedOutput(); err != nil {
				t.Errorf("--arch %s: the staged latchkey version: %v\n%s", arch, err, out)
			}
			if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o111 == 0 {
				t.Errorf("--arch %s: the binary is not executable: %v", arch, fi.Mode())
			}
		}
		// The user and group files are deploy/image's, naming USER.
		uid, gid, _ := strings.Cut(st.user, ":")
		for file, entry := range map[string]*regexp.Regexp{
			"passwd": regexp.MustCompile(`(?m)^[a-z_][a-z0-9_-]*:x:` + uid + `:` + gid + `:[^:]*:/data:[^:\n]*$`),
			"group":  regexp.MustCompile(`(?m)^[a-z_][a-z0-9_-]*:x:` + gid + `:`),
		} {
			p := inCtx("/etc/" + file)
			if p == "" {
				continue
			}
			got, err := os.ReadFile(p)
			want, _ := os.ReadFile("image/" + file)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("--arch %s: /etc/%s is not deploy/image/%s (%v)", arch, file, file, err)
			}
			if !entry.Match(want) {
				t.Errorf("deploy/image/%s has no entry for USER %s:\n%s", file, st.user, want)
			}
		}
		// Go's crypto/x509 reads this path first on Linux.
		if p := inCtx("/etc/ssl/certs/ca-certificates.crt"); p != "" {
			if got, err := os.ReadFile(p); err != nil || !bytes.HasPrefix(got, []byte("-----BEGIN CERTIFICATE-----")) {
				t.Errorf("--arch %s: the CA bundle is not --ca-bundle's (%v)", arch, err)
			}
		}
		// /data is empty, private and the user's.
		if p := inCtx("/data"); p != "" {
			if ents, err := os.ReadDir(p); err != nil || len(ents) != 0 {
				t.Errorf("--arch %s: data/ in the context: %v, %d entries; want an empty directory", arch, err, len(ents))
			}
			if fi, err := os.Stat(p); err == nil && fi.Mode().Perm() != 0o700 {
				t.Errorf("--arch %s: data/ has mode %v, want 0700", arch, fi.Mode().Perm())
			}
			if dataChown != st.user {
				t.Errorf("Dockerfile.release: /data is copied with --chown=%q, USER is %q", dataChown, st.user)
			}
		}
	}

	// An archive that does not match SHA256SUMS is refused.
	f, err := os.OpenFile(filepath.Join(dist, "latchkey_0.0.0-TEST_linux_amd64.tar.gz"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if code, out := releaseImage(t, "--arch", "amd64", "--ca-bundle", ca, "--context", filepath.Join(t.TempDir(), "c"), dist); code == 0 {
		t.Errorf("release-image.sh accepted an archive that does not match SHA256SUMS:\n%s", out)
	}
}

// TestSubcommandCheck makes sure assertSubcommand can fail: cobra prints
// help for some unknown names instead of failing, which would make every
// check above pass.
func TestSubcommandCheck(t *testing.T) {
	if code, _ := run(t, nil, "no-such-command", "--help"); code == 0 {
		t.Fatal("`latchkey no-such-command --help` exited 0: the subcommand checks prove nothing")
	}
}

// --- compose ---

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
	} `yaml:"services"`
}

func TestCompose(t *testing.T) {
	data, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	names := settingNames(t)
	pg, ok := f.Services["postgres"]
	if !ok || !strings.HasPrefix(pg.Image, "postgres:16") {
		t.Fatalf("compose.yaml: no postgres:16 service")
	}
	var serving int
	for name, s := range f.Services {
		if name == "postgres" {
			continue
		}
		where := "compose service " + name
		if s.Build != "../" && s.Build != ".." {
			t.Errorf("%s: build %v, want the repository root (..)", where, s.Build)
		}
		assertSubcommand(t, where, s.Command)
		assertEnv(t, where, names, s.Environment)

		// The database URL names the postgres service and its credentials.
		dsn := s.Environment["LATCHKEY_DB"]
		db, err := config.ParseDB(dsn)
		if err != nil || db.Driver != "postgres" {
			t.Errorf("%s: LATCHKEY_DB %q is not a postgres URL: %v", where, dsn, err)
		}
		want := fmt.Sprintf("postgres://%s:%s@postgres:5432/%s?", pg.Environment["POSTGRES_USER"],
			pg.Environment["POSTGRES_PASSWORD"], pg.Environment["POSTGRES_DB"])
		if !strings.HasPrefix(dsn, want) {
			t.Errorf("%s: LATCHKEY_DB %q does not match the postgres service (%s…)", where, dsn, want)
		}
		if _, ok := s.DependsOn["postgres"]; !ok && len(s.DependsOn) == 0 {
			t.Errorf("%s: starts without waiting for postgres", where)
		}

		if len(s.Command) > 0 && s.Command[0] == "serve" {
			serving++
			port := portOf(t, where, s.Environment["LATCHKEY_ADDR"])
			var published bool
			for _, p := range s.Ports {
				published = published || strings.HasSuffix(p, ":"+strconv.Itoa(port))
			}
			if !published {
				t.Errorf("%s: ports %v do not publish LATCHKEY_ADDR's port %d", where, s.Ports, port)
			}
			if dep := s.DependsOn["migrate"]; dep.Condition != "service_completed_successfully" {
				t.Errorf("%s: does not wait for migrate to succeed (%+v)", where, s.DependsOn)
			}
		}
	}
	if serving != 1 {
		t.Errorf("compose.yaml: %d services run serve, want 1", serving)
	}
	if m := f.Services["migrate"]; len(m.Command) == 0 || m.Command[0] != "migrate" {
		t.Errorf("compose.yaml: no migrate service running `latchkey migrate`")
	}
}

// --- Kubernetes ---

type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"` // a number or a port name
	} `yaml:"httpGet"`
}

type k8sContainer struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	StartupProbe    *k8sProbe `yaml:"startupProbe"`
	ReadinessProbe  *k8sProbe `yaml:"readinessProbe"`
	LivenessProbe   *k8sProbe `yaml:"livenessProbe"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
	} `yaml:"securityContext"`
}

type k8sPodSpec struct {
	SecurityContext struct {
		RunAsNonRoot bool `yaml:"runAsNonRoot"`
		RunAsUser    int  `yaml:"runAsUser"`
	} `yaml:"securityContext"`
	Containers []k8sContainer `yaml:"containers"`
}

type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Resources  []string          `yaml:"resources"`  // Kustomization
	StringData map[string]string `yaml:"stringData"` // Secret
	Data       map[string]string `yaml:"data"`       // Secret
	Spec       struct {
		Replicas *int `yaml:"replicas"`
		// A Deployment's is {matchLabels: {…}}, a Service's the labels themselves.
		Selector map[string]any `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec k8sPodSpec `yaml:"spec"`
		} `yaml:"template"`
		// Service
		Ports []struct {
			Port       int `yaml:"port"`
			TargetPort any `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

// loadManifests parses every YAML document under kubernetes/, by file.
func loadManifests(t *testing.T) map[string][]k8sObject {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in kubernetes/: %v", err)
	}
	out := map[string][]k8sObject{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var o k8sObject
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if o.Kind == "" || o.APIVersion == "" {
				t.Errorf("%s: a document without kind or apiVersion", file)
			}
			out[filepath.Base(file)] = append(out[filepath.Base(file)], o)
		}
	}
	return out
}

func TestKubernetes(t *testing.T) {
	manifests := loadManifests(t)
	names := settingNames(t)

	// kustomization.yaml applies every other file, and only files that exist.
	var listed []string
	byKind := map[string][]k8sObject{}
	for _, objs := range manifests {
		for _, o := range objs {
			byKind[o.Kind] = append(byKind[o.Kind], o)
			if o.Kind == "Kustomization" {
				listed = append(listed, o.Resources...)
			}
		}
	}
	var files []string
	for file := range manifests {
		if file != "kustomization.yaml" {
			files = append(files, file)
		}
	}
	slices.Sort(files)
	slices.Sort(listed)
	if !slices.Equal(files, listed) {
		t.Errorf("kustomization resources %v, files %v", listed, files)
	}

	secrets := map[string]map[string]bool{}
	for _, s := range byKind["Secret"] {
		keys := map[string]bool{}
		for k := range s.StringData {
			keys[k] = true
		}
		for k := range s.Data {
			keys[k] = true
		}
		secrets[s.Metadata.Name] = keys
	}

	var deployments, jobs int
	var probes []string // paths to GET on a real server
	for _, kind := range []string{"Deployment", "Job"} {
		for _, o := range byKind[kind] {
			where := kind + " " + o.Metadata.Name
			pod := o.Spec.Template.Spec
			if !pod.SecurityContext.RunAsNonRoot || pod.SecurityContext.RunAsUser != 65532 {
				t.Errorf("%s: pod securityContext %+v, want runAsNonRoot and the image's uid 65532", where, pod.SecurityContext)
			}
			if len(pod.Containers) != 1 {
				t.Fatalf("%s: %d containers, want 1", where, len(pod.Containers))
			}
			c := pod.Containers[0]
			if len(c.Command) != 0 {
				t.Errorf("%s: command %q replaces the image's /latchkey entrypoint; use args", where, c.Command)
			}
			assertSubcommand(t, where, c.Args)
			if !c.SecurityContext.ReadOnlyRootFilesystem || c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
				t.Errorf("%s: container securityContext %+v, want a read-only root and no privilege escalation", where, c.SecurityContext)
			}
			env := map[string]string{}
			for _, e := range c.Env {
				switch {
				case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
					ref := e.ValueFrom.SecretKeyRef
					if !secrets[ref.Name][ref.Key] {
						t.Errorf("%s: %s refers to key %q of Secret %q, which is not in the manifests", where, e.Name, ref.Key, ref.Name)
					}
					if !names[e.Name] {
						t.Errorf("%s: %s is not a latchkey setting", where, e.Name)
					}
				default:
					env[e.Name] = e.Value
				}
			}
			assertEnv(t, where, names, env)
			if _, ok := env["LATCHKEY_DB"]; ok {
				t.Errorf("%s: LATCHKEY_DB in plain text; it holds a password, take it from the Secret", where)
			}

			if kind == "Job" {
				jobs++
				if c.Args[0] != "migrate" {
					t.Errorf("%s: args %q, want migrate", where, c.Args)
				}
				continue
			}
			deployments++
			if o.Spec.Replicas == nil || *o.Spec.Replicas < 2 {
				t.Errorf("%s: replicas %v, want 2", where, o.Spec.Replicas)
			}
			matchLabels, _ := o.Spec.Selector["matchLabels"].(map[string]any)
			if len(matchLabels) == 0 {
				t.Errorf("%s: no selector.matchLabels", where)
			}
			for k, v := range matchLabels {
				if o.Spec.Template.Metadata.Labels[k] != v {
					t.Errorf("%s: selector %s=%s does not match the pod labels", where, k, v)
				}
			}
			// The container listens where its port says, and every probe
			// goes to that port.
			port := portOf(t, where, env["LATCHKEY_ADDR"])
			portNames := map[string]int{}
			for _, p := range c.Ports {
				portNames[p.Name] = p.ContainerPort
			}
			if len(c.Ports) != 1 || c.Ports[0].ContainerPort != port {
				t.Errorf("%s: ports %+v, want containerPort %d from LATCHKEY_ADDR", where, c.Ports, port)
			}
			resolve := func(p any) int {
				switch v := p.(type) {
				case int:
					return v
				case string:
					return portNames[v]
				}
				return 0
			}
			for name, p := range map[string]*k8sProbe{"readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe, "startupProbe": c.StartupProbe} {
				if p == nil {
					if name != "startupProbe" {
						t.Errorf("%s: no %s", where, name)
					}
					continue
				}
				if p.HTTPGet == nil {
					t.Errorf("%s: %s is not an httpGet", where, name)
					continue
				}
				if got := resolve(p.HTTPGet.Port); got != port {
					t.Errorf("%s: %s port %v is %d, not the server's %d", where, name, p.HTTPGet.Port, got, port)
				}
				probes = append(probes, p.HTTPGet.Path)
			}
			if c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet != nil && c.ReadinessProbe.HTTPGet.Path != "/readyz" {
				t.Errorf("%s: readiness on %s, want /readyz (the one that checks the database)", where, c.ReadinessProbe.HTTPGet.Path)
			}

			// A Service selecting these pods targets their port.
			for _, s := range byKind["Service"] {
				if len(s.Spec.Selector) == 0 {
					t.Errorf("Service %s: no selector", s.Metadata.Name)
				}
				for k, v := range s.Spec.Selector {
					if o.Spec.Template.Metadata.Labels[k] != v {
						t.Errorf("Service %s: selector %s=%s does not match %s's pods", s.Metadata.Name, k, v, where)
					}
				}
				for _, sp := range s.Spec.Ports {
					if got := resolve(sp.TargetPort); got != port {
						t.Errorf("Service %s: targetPort %v is %d, not the server's %d", s.Metadata.Name, sp.TargetPort, got, port)
					}
				}
			}
		}
	}
	if deployments != 1 || jobs != 1 || len(byKind["Service"]) != 1 || len(byKind["Secret"]) != 1 {
		t.Errorf("manifests: %d Deployments, %d Jobs, %d Services, %d Secrets; want one of each",
			deployments, jobs, len(byKind["Service"]), len(byKind["Secret"]))
	}

	// The probe paths are routes of a real server, answering 200.
	base := startServer(t)
	for _, p := range probes {
		assertPath(t, "probe", base, p)
	}
}

// TestKubernetesSecretPlaceholder: secret.yaml's example system secret is
// refused, as its comment says, so nothing runs on it by mistake.
func TestKubernetesSecretPlaceholder(t *testing.T) {
	var n int
	for file, objs := range loadManifests(t) {
		for _, o := range objs {
			if o.Kind != "Secret" {
				continue
			}
			v, ok := o.StringData["LATCHKEY_SECRET"]
			if !ok {
				continue
			}
			n++
			if _, err := secrets.DecodeSystemSecret(v); err == nil {
				t.Errorf("%s: the example LATCHKEY_SECRET %q would be accepted", file, v)
			}
		}
	}
	if n == 0 {
		t.Fatal("no Secret with a LATCHKEY_SECRET in the manifests")
	}
}
