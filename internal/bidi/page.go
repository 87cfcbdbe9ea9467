package bidi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrScript is wrapped by Page.Eval when the script throws or its promise
// rejects.
var ErrScript = errors.New("bidi: script failed")

// Page is one top-level browsing context (a tab).
type Page struct {
	conn *Conn
	id   string // the browsing context id
}

// ID is the page's browsing context id.
func (p *Page) ID() string { return p.id }

// Pages lists the top-level browsing contexts (browsingContext.getTree).
func (c *Conn) Pages(ctx context.Context) ([]*Page, error) {
	var tree struct {
		Contexts []struct {
			Context string `json:"context"`
		} `json:"contexts"`
	}
	if err := c.Call(ctx, "browsingContext.getTree", map[string]any{"maxDepth": 0}, &tree); err != nil {
		return nil, err
	}
	pages := make([]*Page, len(tree.Contexts))
	for i, bc := range tree.Contexts {
		pages[i] = &Page{conn: c, id: bc.Context}
	}
	return pages, nil
}

// NewPage opens a new tab (browsingContext.create).
func (c *Conn) NewPage(ctx context.Context) (*Page, error) {
	var res struct {
		Context string `json:"context"`
	}
	if err := c.Call(ctx, "browsingContext.create", map[string]any{"type": "tab"}, &res); err != nil {
		return nil, err
	}
	return &Page{conn: c, id: res.Context}, nil
}

// AddPreloadScript makes every new document run fn (a function
// declaration such as "() => { ... }") before its own scripts
// (script.addPreloadScript).
func (c *Conn) AddPreloadScript(ctx context.Context, fn string) error {
	return c.Call(ctx, "script.addPreloadScript", map[string]any{"functionDeclaration": fn}, nil)
}

// Subscribe asks for events (session.subscribe), such as "log.entryAdded";
// they reach the OnEvent function given to Dial or Launch.
func (c *Conn) Subscribe(ctx context.Context, events ...string) error {
	return c.Call(ctx, "session.subscribe", map[string]any{"events": events}, nil)
}

// Navigate loads url and waits for the load event
// (browsingContext.navigate with wait "complete").
func (p *Page) Navigate(ctx context.Context, url string) error {
	return p.conn.Call(ctx, "browsingContext.navigate", map[string]any{
		"context": p.id, "url": url, "wait": "complete",
	}, nil)
}

// SetViewport sets the page's viewport in CSS pixels
// (browsingContext.setViewport).
func (p *Page) SetViewport(ctx context.Context, width, height int) error {
	return p.conn.Call(ctx, "browsingContext.setViewport", map[string]any{
		"context":  p.id,
		"viewport": map[string]int{"width": width, "height": height},
	}, nil)
}

// Screenshot captures the whole document as a PNG
// (browsingContext.captureScreenshot, origin "document").
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	var res struct {
		Data string `json:"data"`
	}
	if err := p.conn.Call(ctx, "browsingContext.captureScreenshot", map[string]any{
		"context": p.id, "origin": "document",
	}, &res); err != nil {
		return nil, err
	}
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		return nil, fmt.Errorf("bidi: screenshot: %w", err)
	}
	return png, nil
}

// remoteValue is the part of a serialized script value (spec "RemoteValue")
// that Page uses.
type remoteValue struct {
	Type     string          `json:"type"`
	Value    json.RawMessage `json:"value"`
	SharedID string          `json:"sharedId"`
}

// evaluate runs expression in the page, awaiting a promise, and returns its
// serialized value (script.evaluate).
func (p *Page) evaluate(ctx context.Context, expression string) (remoteValue, error) {
	var res struct {
		Type             string      `json:"type"` // "success" or "exception"
		Result           remoteValue `json:"result"`
		ExceptionDetails struct {
			Text       string `json:"text"`
			LineNumber int    `json:"lineNumber"`
		} `json:"exceptionDetails"`
	}
	err := p.conn.Call(ctx, "script.evaluate", map[string]any{
		"expression":      expression,
		"target":          map[string]string{"context": p.id},
		"awaitPromise":    true,
		"resultOwnership": "none",
		"userActivation":  false,
	}, &res)
	if err != nil {
		return remoteValue{}, err
	}
	if res.Type == "exception" {
		return remoteValue{}, fmt.Errorf("%w: %s (line %d)", ErrScript, res.ExceptionDetails.Text, res.ExceptionDetails.LineNumber)
	}
	return res.Result, nil
}

// Eval evaluates a JavaScript expression in the page, awaits it if it is a
// promise, and decodes its value into out (if not nil) through JSON, so out
// may be any type encoding/json fills: a bool, a struct, a map. A value
// JSON.stringify cannot represent leaves out untouched. If the expression
// throws or its promise rejects, the error wraps ErrScript.
func (p *Page) Eval(ctx context.Context, expression string, out any) error {
	// The page catches its own exception: Firefox cannot always serialize
	// one ("Missing stack, unable to build exceptionDetails").
	v, err := p.evaluate(ctx, `(async () => {
	try { return JSON.stringify({value: await (`+expression+"\n)});"+`
	} catch (e) { return JSON.stringify({error: String(e) + (e && e.stack ? '\n' + e.stack : '')}); }
})()`)
	if err != nil {
		return err
	}
	var s string
	if v.Type != "string" || json.Unmarshal(v.Value, &s) != nil {
		return fmt.Errorf("bidi: eval: unexpected %s result", v.Type)
	}
	var res struct {
		Value json.RawMessage `json:"value"`
		Error *string         `json:"error"`
	}
	if err := json.Unmarshal([]byte(s), &res); err != nil {
		return fmt.Errorf("bidi: eval: decode %q: %w", s, err)
	}
	if res.Error != nil {
		return fmt.Errorf("%w: %s", ErrScript, *res.Error)
	}
	if out == nil || res.Value == nil {
		return nil
	}
	if err := json.Unmarshal(res.Value, out); err != nil {
		return fmt.Errorf("bidi: eval: decode %s: %w", res.Value, err)
	}
	return nil
}

// element finds the first element matching a CSS selector, scrolled into
// view, and returns its shared reference.
func (p *Page) element(ctx context.Context, selector string) (map[string]string, error) {
	sel, _ := json.Marshal(selector)
	v, err := p.evaluate(ctx, fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (e) e.scrollIntoView({block: 'center'}); return e; })()`, sel))
	if err != nil {
		return nil, err
	}
	if v.Type != "node" || v.SharedID == "" {
		return nil, fmt.Errorf("bidi: no element matches %s", selector)
	}
	return map[string]string{"sharedId": v.SharedID}, nil
}

// Click moves the mouse to the centre of the first element matching a CSS
// selector and clicks it, as a person would (input.performActions), so the
// page gets real events and a user activation.
func (p *Page) Click(ctx context.Context, selector string) error {
	el, err := p.element(ctx, selector)
	if err != nil {
		return err
	}
	origin := map[string]any{"type": "element", "element": el}
	return p.performActions(ctx, map[string]any{
		"type":       "pointer",
		"id":         "mouse",
		"parameters": map[string]string{"pointerType": "mouse"},
		"actions": []map[string]any{
			{"type": "pointerMove", "x": 0, "y": 0, "origin": origin},
			{"type": "pointerDown", "button": 0},
			{"type": "pointerUp", "button": 0},
		},
	})
}

// Type presses and releases a key for each character of text, into
// whatever element has the focus (click it first).
func (p *Page) Type(ctx context.Context, text string) error {
	actions := make([]map[string]any, 0, 2*len(text))
	for _, r := range text {
		actions = append(actions,
			map[string]any{"type": "keyDown", "value": string(r)},
			map[string]any{"type": "keyUp", "value": string(r)})
	}
	return p.performActions(ctx, map[string]any{"type": "key", "id": "keyboard", "actions": actions})
}

func (p *Page) performActions(ctx context.Context, source map[string]any) error {
	return p.conn.Call(ctx, "input.performActions", map[string]any{
		"context": p.id, "actions": []any{source},
	}, nil)
}
