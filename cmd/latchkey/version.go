package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set by scripts/release.sh with -ldflags "-X main.version=… -X main.commit=…
// -X main.date=…". A plain `go build` or `go run` leaves them empty, and the
// build information Go embeds in every binary fills in what it can.
var (
	version string
	commit  string
	date    string
)

// buildInfo is what `latchkey version` reports.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
}

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, build date and Go version of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bi, _ := debug.ReadBuildInfo() // nil when the binary carries none
			info := resolveBuildInfo(bi, version, commit, date)
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(info); err != nil {
					return fmt.Errorf("write version: %w", err)
				}
				return nil
			}
			_, err := fmt.Fprintf(out, "latchkey %s\n  commit:   %s\n  built:    %s\n  go:       %s\n  platform: %s/%s\n",
				info.Version, info.Commit, info.Date, info.GoVersion, info.OS, info.Arch)
			if err != nil {
				return fmt.Errorf("write version: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// resolveBuildInfo merges the release script's -X values (which win: they
// name the release, while a build from a module cache or a tarball has no VCS
// stamp) with the build information Go embeds. Nothing is ever left empty, so
// scripts can rely on every field being present. bi may be nil.
func resolveBuildInfo(bi *debug.BuildInfo, xVersion, xCommit, xDate string) buildInfo {
	info := buildInfo{Version: xVersion, Commit: xCommit, Date: xDate,
		GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if bi != nil {
		info.GoVersion = bi.GoVersion
		if info.Version == "" {
			info.Version = bi.Main.Version
		}
		var revision, modified, vcsTime string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value
			case "vcs.time":
				vcsTime = s.Value
			}
		}
		if info.Commit == "" && revision != "" {
			info.Commit = revision
			if modified == "true" {
				info.Commit += "-dirty"
			}
		}
		if info.Date == "" {
			info.Date = vcsTime
		}
	}
	// `go run` and builds outside a VCS checkout carry no version or stamp.
	if info.Version == "" {
		info.Version = "(devel)"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	if info.Date == "" {
		info.Date = "unknown"
	}
	return info
}
