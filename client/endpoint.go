package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
)

// Register signs in as a group's endpoint (docs/api.md, "Endpoints") with
// its address (e.g. "alice@choir") and secret, and returns an HTTP client
// holding the endpoint's session cookie: pass it as Config.HTTPClient,
// with Config.Room, to join the group's rooms as the endpoint. hc, if not
// nil, is the transport to use (its Jar is replaced).
func Register(ctx context.Context, hc *http.Client, base, address, secret string) (*http.Client, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Jar: jar}
	if hc != nil {
		cc := *hc
		cc.Jar = jar
		c = &cc
	}
	body, _ := json.Marshal(map[string]string{"address": address, "secret": secret})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/api/v1/endpoint/login", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("register endpoint: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("register endpoint %s: %s: %s", address, resp.Status, strings.TrimSpace(string(data)))
	}
	return c, nil
}
