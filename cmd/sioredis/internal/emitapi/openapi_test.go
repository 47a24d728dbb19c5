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
	// The description names where the API is, documents the health endpoints, and has each request schema refuse
	// unknown fields as the server does; each request example is accepted by the server as it stands.
	var extra struct {
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
	}
	_ = json.Unmarshal(emitapi.OpenAPI(), &extra)
	if len(extra.Servers) == 0 || !strings.HasPrefix(extra.Servers[0].URL, "http://127.0.0.1:8090") {
		t.Errorf("servers: %+v, want the default address first", extra.Servers)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if doc.Paths[p]["get"] == nil {
			t.Errorf("GET %s undocumented", p)
		}
	}
	for _, p := range posts {
		media := doc.Paths[p]["post"]["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)
		ref, _ := media["schema"].(map[string]any)["$ref"].(string)
		schema, _ := doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
		if schema["additionalProperties"] != false {
			t.Errorf("POST %s: schema %s allows unknown fields, which the server refuses", p, ref)
		}
		for name := range schema["properties"].(map[string]any) {
			if a := post(t, api, testKey, p, `{"`+name+`x":1}`); a.code != 400 || a.body["field"] != name+"x" {
				t.Errorf("POST %s with the unknown field %sx: %d %s", p, name, a.code, a.raw)
			}
		}
		responses := doc.Paths[p]["post"]["responses"].(map[string]any)
		for _, code := range []string{"405", "415"} {
			if responses[code] == nil {
				t.Errorf("POST %s: answer %s undocumented", p, code)
			}
		}
		example, err := json.Marshal(media["example"])
		if media["example"] == nil || err != nil {
			t.Errorf("POST %s: no request example", p)
			continue
		}
		if a := post(t, api, testKey, p, string(example)); a.code != 200 {
			t.Errorf("POST %s with its example %s: %d %s", p, example, a.code, a.raw)
		}
	}
	for _, p := range append(posts, "/v1/undocumented") {
		a := post(t, api, "", p, "{}")
		if wantCode := 401; p == "/v1/undocumented" && a.code != 404 || p != "/v1/undocumented" && a.code != wantCode {
			t.Errorf("POST %s: %d %s", p, a.code, a.raw)
		}
	}
}
