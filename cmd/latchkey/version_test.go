package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// TestVersionPlain checks the binary of a plain `go build` (no -X values)
// prints every line, with placeholders where the build carries no stamp.
func TestVersionPlain(t *testing.T) {
	res := runCLI(t, t.TempDir(), nil, "version")
	if res.code != 0 {
		t.Fatalf("version exited %d: %s", res.code, res.stderr)
	}
	for _, want := range []string{"latchkey ", "commit:", "built:", "go:       " + runtime.Version(),
		"platform: " + runtime.GOOS + "/" + runtime.GOARCH} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("version output lacks %q:\n%s", want, res.stdout)
		}
	}

	res = runCLI(t, t.TempDir(), nil, "version", "--json")
	if res.code != 0 {
		t.Fatalf("version --json exited %d: %s", res.code, res.stderr)
	}
	var got buildInfo
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
		t.Fatalf("version --json is not JSON: %v\n%s", err, res.stdout)
	}
	if got.Version == "" || got.Commit == "" || got.Date == "" || got.GoVersion != runtime.Version() ||
		got.OS != runtime.GOOS || got.Arch != runtime.GOARCH {
		t.Errorf("version --json = %+v", got)
	}
}

// TestVersionLdflags builds the binary with the -X values scripts/release.sh
// sets and checks they come out: a -X naming a variable that does not exist
// is silently ignored by the linker, so only this catches a rename. No
// -trimpath here: it would miss the build cache and recompile everything
// (a minute and a half), while -X only changes the link.
func TestVersionLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a second binary")
	}
	bin := filepath.Join(t.TempDir(), "latchkey")
	ldflags := "-X main.version=v9.8.7 -X main.commit=0123abcd-dirty -X main.date=2026-01-02T03:04:05Z"
	build := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatalf("version --json: %v", err)
	}
	var got buildInfo
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("version --json is not JSON: %v\n%s", err, out)
	}
	if got.Version != "v9.8.7" || got.Commit != "0123abcd-dirty" || got.Date != "2026-01-02T03:04:05Z" {
		t.Errorf("version --json = %+v, want the -X values", got)
	}
}

// TestVersionFromBuildInfo checks the VCS stamp of a `go build` in a
// checkout is used when no -X value is given, and that -X values win.
func TestVersionFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "v0.0.0-20260102030405-0123456789ab+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		}}
	got := resolveBuildInfo(bi, "", "", "")
	want := buildInfo{Version: "v0.0.0-20260102030405-0123456789ab+dirty", Commit: "0123456789abcdef-dirty",
		Date: "2026-01-02T03:04:05Z", GoVersion: "go1.99", OS: runtime.GOOS, Arch: runtime.GOARCH}
	if got != want {
		t.Errorf("from build info:\n got %+v\nwant %+v", got, want)
	}

	bi.Settings[2].Value = "false"
	if got := resolveBuildInfo(bi, "", "", ""); got.Commit != "0123456789abcdef" {
		t.Errorf("clean tree: commit %q", got.Commit)
	}

	got = resolveBuildInfo(bi, "v1.2.3", "feedface", "2027-01-01T00:00:00Z")
	if got.Version != "v1.2.3" || got.Commit != "feedface" || got.Date != "2027-01-01T00:00:00Z" {
		t.Errorf("-X values should win: %+v", got)
	}

	got = resolveBuildInfo(nil, "", "", "")
	if got.Version != "(devel)" || got.Commit != "unknown" || got.Date != "unknown" || got.GoVersion != runtime.Version() {
		t.Errorf("without build info: %+v", got)
	}
}
