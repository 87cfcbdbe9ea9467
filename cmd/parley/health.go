package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"time"
)

const healthUsage = `Usage:
  parley health [--data DIR | --url URL] [--timeout 5s]

Asks the server for GET /api/v1/health. Exits 0 if it answers "ok", 1 with
the reason on standard error if not: for scripts, monitoring and Docker's
HEALTHCHECK.

Flags:
  --data DIR       check the server running on this data directory, found
                   through DIR/operator.json (default ./data, env PARLEY_DATA)
  --url URL        check the server at this base URL instead,
                   e.g. https://meet.example.org
  --timeout D      how long to wait for the answer (default 5s)
`

// runHealth is parley health.
func runHealth(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	data := dataDirFlag(fs)
	base := fs.String("url", "", "the server's base URL")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait")
	rest, err := parseInterspersed(fs, args, healthUsage)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, healthUsage)
		return nil
	}
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf(healthUsage, "health takes no arguments, got %q", rest)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if given["url"] && given["data"] {
		return usageErrorf(healthUsage, "health: give --url or --data, not both")
	}
	if *timeout <= 0 {
		return usageErrorf(healthUsage, "health: --timeout must be positive")
	}
	target, local := strings.TrimRight(*base, "/"), false
	if target == "" {
		if target, err = localServerURL(*data); err != nil {
			return err
		}
		local = true
	} else if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") {
		return usageErrorf(healthUsage, "health: --url %q must start with http:// or https://", target)
	}
	if err := checkHealth(ctx, target, local, *timeout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "parley is up at %s\n", target)
	return nil
}

// localServerURL is where the server running on dataDir said it listens.
func localServerURL(dataDir string) (string, error) {
	path := filepath.Join(dataDir, operatorFileName)
	info, err := readOperatorFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("no parley server is running on %s (it has no %s)", dataDir, operatorFileName)
	case errors.Is(err, fs.ErrPermission):
		return "", fmt.Errorf("cannot read %s (permission denied): run this as the user that runs parley serve", path)
	case err != nil:
		return "", err
	}
	return info.URL, nil
}

// checkHealth asks base for /api/v1/health. A local server (found through
// its operator file, on this machine) is asked without checking its TLS
// certificate, which names the public host rather than localhost; nothing
// secret is sent.
func checkHealth(ctx context.Context, base string, local bool, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if local {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/health", nil)
	if err != nil {
		return fmt.Errorf("%q is not a URL parley can ask", base)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("the server at %s did not answer within %s", base, timeout)
		}
		return fmt.Errorf("cannot reach the server at %s: %w", base, plainHTTPError(err))
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the server at %s is not healthy: it answered %s", base, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&body); err != nil {
		return fmt.Errorf("the server at %s answered, but not as parley does (no JSON status)", base)
	}
	if body.Status != "ok" {
		return fmt.Errorf("the server at %s is not healthy: its status is %q", base, body.Status)
	}
	return nil
}
