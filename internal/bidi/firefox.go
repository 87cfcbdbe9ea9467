package bidi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrNoEndpoint is returned by Launch when Firefox exits or times out
// before saying where its WebDriver BiDi server listens.
var ErrNoEndpoint = errors.New("bidi: firefox did not start its WebDriver BiDi server")

// FakeMediaPrefs give Firefox a fake camera and microphone and grant them
// without asking.
func FakeMediaPrefs() map[string]any {
	return map[string]any{
		"media.navigator.streams.fake":        true,
		"media.navigator.permission.disabled": true,
	}
}

// QuietPrefs stop Firefox's own background traffic (updates, telemetry,
// experiments, captive-portal and connectivity checks, safe browsing,
// remote settings, plugin downloads), which a test machine without a
// network would only wait on. Firefox's remote agent sets more of these
// itself (remote.prefs.recommended).
func QuietPrefs() map[string]any {
	return map[string]any{
		"app.normandy.enabled":                                        false,
		"app.normandy.api_url":                                        "",
		"app.shield.optoutstudies.enabled":                            false,
		"app.update.auto":                                             false,
		"app.update.checkInstallTime":                                 false,
		"app.update.disabledForTesting":                               true,
		"browser.newtabpage.enabled":                                  false,
		"browser.newtabpage.activity-stream.feeds.telemetry":          false,
		"browser.newtabpage.activity-stream.telemetry":                false,
		"browser.ping-centre.telemetry":                               false,
		"browser.safebrowsing.blockedURIs.enabled":                    false,
		"browser.safebrowsing.downloads.enabled":                      false,
		"browser.safebrowsing.malware.enabled":                        false,
		"browser.safebrowsing.phishing.enabled":                       false,
		"browser.search.update":                                       false,
		"browser.shell.checkDefaultBrowser":                           false,
		"browser.startup.homepage_override.mstone":                    "ignore",
		"browser.startup.page":                                        0,
		"datareporting.healthreport.uploadEnabled":                    false,
		"datareporting.policy.dataSubmissionEnabled":                  false,
		"extensions.blocklist.enabled":                                false,
		"extensions.getAddons.cache.enabled":                          false,
		"extensions.update.enabled":                                   false,
		"geo.provider.network.url":                                    "",
		"media.gmp-manager.updateEnabled":                             false,
		"network.captive-portal-service.enabled":                      false,
		"network.connectivity-service.enabled":                        false,
		"network.dns.disablePrefetch":                                 true,
		"network.http.speculative-parallel-limit":                     0,
		"network.prefetch-next":                                       false,
		"services.settings.server":                                    "data:,#remote-settings-disabled",
		"toolkit.telemetry.enabled":                                   false,
		"toolkit.telemetry.server":                                    "data:,",
		"toolkit.telemetry.unified":                                   false,
		"browser.discovery.enabled":                                   false,
		"browser.urlbar.suggest.quicksuggest.sponsored":               false,
		"browser.urlbar.quicksuggest.enabled":                         false,
		"identity.fxaccounts.enabled":                                 false,
		"messaging-system.rsexperimentloader.enabled":                 false,
		"browser.newtabpage.activity-stream.feeds.topsites":           false,
		"browser.newtabpage.activity-stream.feeds.section.topstories": false,
	}
}

// Config says how to start Firefox. Exe and ProfileDir are required.
type Config struct {
	Exe        string         // the firefox binary, e.g. /usr/bin/firefox-esr
	ProfileDir string         // a fresh, empty directory the caller removes afterwards
	Prefs      map[string]any // written to the profile's user.js, after QuietPrefs
	Stderr     io.Writer      // if not nil, Firefox's stdout and stderr are copied here
	OnEvent    func(Event)    // passed to Dial; see Dial
	Timeout    time.Duration  // for startup and for Close; 30 s if zero
}

// Browser is a headless Firefox process and the BiDi session that drives it.
type Browser struct {
	// Set at construction.
	*Conn
	cmd     *exec.Cmd
	timeout time.Duration
	out     *os.File      // the read end of Firefox's stdout and stderr; owned by readOutput
	exited  chan struct{} // closed when the process has been waited for
	output  chan struct{} // closed when readOutput has ended

	closeOnce sync.Once
}

// Launch starts Firefox headless with a new profile in cfg.ProfileDir,
// waits for its WebDriver BiDi server, connects and starts a session
// (session.new). The caller must Close the Browser.
func Launch(ctx context.Context, cfg Config) (*Browser, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	prefs := QuietPrefs()
	maps.Copy(prefs, cfg.Prefs)
	if err := writeUserJS(filepath.Join(cfg.ProfileDir, "user.js"), prefs); err != nil {
		return nil, err
	}
	// Port 0: Firefox picks a free port and prints it, so there is no race
	// between finding a free port and Firefox binding it.
	cmd := exec.Command(cfg.Exe, "--headless", "--no-remote", "--remote-debugging-port=0",
		"--profile", cfg.ProfileDir, "about:blank")
	cmd.Env = append(os.Environ(), "MOZ_CRASHREPORTER_DISABLE=1", "MOZ_HEADLESS=1")
	setProcessGroup(cmd)
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("bidi: pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("bidi: start %s: %w", cfg.Exe, err)
	}
	w.Close() // Firefox and its children hold the write end now
	b := &Browser{cmd: cmd, timeout: cfg.Timeout, out: r, exited: make(chan struct{}), output: make(chan struct{})}
	endpoint := make(chan string, 1)
	go b.readOutput(cfg.Stderr, endpoint)
	go func() {
		cmd.Wait() // reaps Firefox; output ends when its children exit too
		close(b.exited)
	}()

	url, err := b.waitEndpoint(ctx, endpoint)
	if err == nil {
		b.Conn, err = Dial(ctx, url+"/session", cfg.OnEvent)
	}
	if err == nil {
		err = b.Call(ctx, "session.new", map[string]any{
			"capabilities": map[string]any{"alwaysMatch": map[string]any{"acceptInsecureCerts": true}},
		}, nil)
	}
	if err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// waitEndpoint waits for Firefox to print its BiDi URL.
func (b *Browser) waitEndpoint(ctx context.Context, endpoint <-chan string) (string, error) {
	t := time.NewTimer(b.timeout)
	defer t.Stop()
	select {
	case url := <-endpoint:
		return url, nil
	case <-b.exited:
		return "", fmt.Errorf("%w: it exited (%v)", ErrNoEndpoint, b.cmd.ProcessState)
	case <-t.C:
		return "", fmt.Errorf("%w within %v", ErrNoEndpoint, b.timeout)
	case <-ctx.Done():
		return "", fmt.Errorf("%w: %w", ErrNoEndpoint, ctx.Err())
	}
}

// listening is the line Firefox's remote agent prints when it is ready.
const listening = "WebDriver BiDi listening on "

// readOutput copies Firefox's output to copyTo and sends the BiDi URL on
// endpoint once. It ends at EOF: when Firefox and all its children have
// exited (Close makes sure of that).
func (b *Browser) readOutput(copyTo io.Writer, endpoint chan<- string) {
	defer close(b.output)
	defer b.out.Close()
	sc := bufio.NewScanner(b.out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		if copyTo != nil {
			fmt.Fprintln(copyTo, line)
		}
		if i := strings.Index(line, listening); i >= 0 && !sent {
			endpoint <- strings.TrimSpace(line[i+len(listening):]) // buffered
			sent = true
		}
	}
	io.Copy(io.Discard, b.out) // a line over the scanner's limit: drain to EOF
}

// Close ends the session and Firefox (browser.close), kills the process
// group if Firefox and its children have not exited within the timeout,
// and waits until they are gone. It is safe to call more than once.
func (b *Browser) Close() error {
	b.closeOnce.Do(b.close)
	return nil
}

func (b *Browser) close() {
	if b.Conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), b.timeout/3)
		// Firefox may close the socket before it answers: either is fine.
		b.Call(ctx, "browser.close", nil, nil)
		cancel()
		b.Conn.Close()
	}
	// The output pipe reaches EOF when every process holding it (Firefox
	// and its content processes) has exited.
	t := time.NewTimer(b.timeout / 3)
	defer t.Stop()
	select {
	case <-b.output:
	case <-t.C:
		// Someone still holds the pipe, so the group still has a member
		// and its id is still ours to kill.
		killProcessGroup(b.cmd)
		t.Reset(b.timeout / 3)
		select {
		case <-b.output:
		case <-t.C:
			b.out.Close() // a holder outside the group: stop reading anyway
			<-b.output
		}
	}
	<-b.exited
}

// writeUserJS writes prefs as a Firefox user.js, in a stable order.
func writeUserJS(path string, prefs map[string]any) error {
	var sb strings.Builder
	sb.WriteString("// Written by parley's internal/bidi for a test run.\n")
	for _, k := range slices.Sorted(maps.Keys(prefs)) {
		v, err := json.Marshal(prefs[k])
		if err != nil {
			return fmt.Errorf("bidi: pref %s: %w", k, err)
		}
		name, _ := json.Marshal(k)
		fmt.Fprintf(&sb, "user_pref(%s, %s);\n", name, v)
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		return fmt.Errorf("bidi: write user.js: %w", err)
	}
	return nil
}
