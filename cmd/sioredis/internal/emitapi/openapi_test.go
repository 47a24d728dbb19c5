package emitapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/cmd/sioredis/internal/emitapi"
)

// TestOpenAPI checks the checked-in description structurally: OpenAPI 3, every $ref resolves, every operation
// has a request body (POST) and documented answers, and the paths are exactly the routes the Handler serves.
func TestOpenAPI(t *testing.T) {
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Info       map[string]any                       `json:"info"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas         map[string]any `json:"schemas"`
			SecuritySchemes map[string]any `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal(emitapi.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") || doc.Info["title"] == nil || doc.Info["version"] == nil {
		t.Fatalf("not an OpenAPI 3 document: openapi %q, info %v", doc.OpenAPI, doc.Info)
	}
	var all any
	_ = json.Unmarshal(emitapi.OpenAPI(), &all)
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				name, ok := strings.CutPrefix(ref, "#/components/schemas/")
				if _, found := doc.Components.Schemas[name]; !ok || !found {
					t.Errorf("$ref %q does not resolve", ref)
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(all)
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if op["operationId"] == nil || op["responses"] == nil {
				t.Errorf("%s %s: no operationId or responses", method, path)
			}
			responses, _ := op["responses"].(map[string]any)
			if responses["200"] == nil {
				t.Errorf("%s %s: no 200 answer", method, path)
			}
			if method != "post" {
				continue
			}
			for _, code := range []string{"400", "401", "403", "429"} {
				if responses[code] == nil {
					t.Errorf("%s %s: answer %s undocumented", method, path, code)
				}
			}
			if op["requestBody"] == nil {
				t.Errorf("%s %s: no requestBody", method, path)
			}
			if _, ok := doc.Components.SecuritySchemes["apiKey"]; !ok || op["security"] == nil {
				t.Errorf("%s %s: no security", method, path)
			}
		}
	}

	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { rdb.Close() })
	api := startAPI(t, emitapi.Config{Redis: rdb})
	res, err := http.Get(api + "/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !reflect.DeepEqual(served, emitapi.OpenAPI()) {
		t.Fatalf("GET /v1/openapi.json: %d, %d bytes", res.StatusCode, len(served))
	}
	// Each documented POST path is a route (an unauthenticated request gets 401, not the catch-all's 404), and
	// an undocumented one is not.
	var posts []string
	for path, ops := range doc.Paths {
		if ops["post"] != nil {
			posts = append(posts, path)
		}
	}
	slices.Sort(posts)
	want := []string{"/v1/emit", "/v1/emit/batch", "/v1/server-emit", "/v1/sockets/disconnect", "/v1/sockets/join", "/v1/sockets/leave"}
	if !slices.Equal(posts, want) {
		t.Errorf("documented POST paths %v, want %v", posts, want)
	}
	for _, p := range append(posts, "/v1/undocumented") {
		a := post(t, api, "", p, "{}")
		if wantCode := 401; p == "/v1/undocumented" && a.code != 404 || p != "/v1/undocumented" && a.code != wantCode {
			t.Errorf("POST %s: %d %s", p, a.code, a.raw)
		}
	}
}
