package report

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// The JSON Schema in docs/ is derived from the Go types that write the
// documents, so that it cannot drift from them: this test fails when a field
// is added, removed or re-documented without the schema being regenerated
// with -update (the flag the golden files share). Rules that reflection
// cannot see (which strings are enums, which figures may be negative) are
// added by schemaRules.

// SchemaFile is where the schema lives, relative to this package.
const schemaFile = "../docs/smtpbench-v1.schema.json"

func TestSchemaUpToDate(t *testing.T) {
	got, err := generateSchema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(schemaFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date with the document types: run go test ./report -run TestSchemaUpToDate -update", schemaFile)
	}
}

type schemaGen struct {
	docs map[string]string // "Type.Field" or "Type" -> doc comment
	defs map[string]any
}

func generateSchema() ([]byte, error) {
	g := &schemaGen{docs: map[string]string{}, defs: map[string]any{}}
	if err := g.readDocs("."); err != nil {
		return nil, err
	}
	run := g.ref(reflect.TypeOf(JSONReport{}))
	multi := g.ref(reflect.TypeOf(Document{}))
	root := map[string]any{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"$id":     "https://github.com/smtpbench/smtpbench/docs/smtpbench-v1.schema.json",
		"title":   "smtpbench/v1 result document",
		"description": "A document smtpbench writes: one run (run, merge), or several runs " +
			"with their analysis (sweep, ab). Generated from the Go types that write it; " +
			"durations are milliseconds (_ms) or seconds (_s), histograms (hdr) are " +
			"HdrHistogram V2 compressed base64 of microsecond values.",
		"oneOf": []any{
			map[string]any{"$ref": run, "not": map[string]any{"required": []string{"runs"}}},
			map[string]any{"$ref": multi, "required": []string{"runs"}},
		},
		"$defs": g.defs,
	}
	b, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// readDocs collects the doc comments of the package's exported types and
// their fields, the descriptions the schema carries.
func (g *schemaGen) readDocs(dir string) error {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, parser.ParseComments)
	if err != nil {
		return err
	}
	for _, p := range pkgs {
		for _, f := range p.Files {
			for _, d := range f.Decls {
				gd, ok := d.(*ast.GenDecl)
				if !ok || gd.Tok != token.TYPE {
					continue
				}
				for _, s := range gd.Specs {
					ts := s.(*ast.TypeSpec)
					doc := ts.Doc
					if doc == nil && len(gd.Specs) == 1 {
						doc = gd.Doc
					}
					g.docs[ts.Name.Name] = oneLine(doc.Text())
					st, ok := ts.Type.(*ast.StructType)
					if !ok {
						continue
					}
					for _, fld := range st.Fields.List {
						for _, n := range fld.Names {
							g.docs[ts.Name.Name+"."+n.Name] = oneLine(fld.Doc.Text())
						}
					}
				}
			}
		}
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (g *schemaGen) ref(t reflect.Type) string {
	name := t.Name()
	if _, ok := g.defs[name]; !ok {
		g.defs[name] = nil // placeholder against recursion
		g.defs[name] = g.object(t)
	}
	return "#/$defs/" + name
}

var timeType = reflect.TypeOf(time.Time{})

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	sort.Strings(required)
	o := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if d := g.docs[t.Name()]; d != "" {
		o["description"] = d
	}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			g.fields(et, props, required)
			continue
		}
		if name == "" {
			name = f.Name
		}
		omit := strings.Contains(opts, "omitempty")
		s := g.value(f.Type, !omit)
		if d := g.docs[t.Name()+"."+f.Name]; d != "" {
			s["description"] = d
		}
		applyRules(s, schemaRules[t.Name()+"."+name])
		props[name] = s
		if !omit {
			*required = append(*required, name)
		}
	}
}

// applyRules sets each rule on s (on the non-null branch of a nullable
// value); a nil rule removes the key.
func applyRules(s map[string]any, rules map[string]any) {
	if alts, ok := s["anyOf"].([]any); ok {
		s = alts[0].(map[string]any)
	}
	for k, v := range rules {
		if v == nil {
			delete(s, k)
		} else {
			s[k] = v
		}
	}
}

// value describes a value of type t; nullable says whether Go may write
// null for it (a nil pointer, slice or map without omitempty).
func (g *schemaGen) value(t reflect.Type, nullable bool) map[string]any {
	typ := func(s string) any {
		if nullable {
			return []string{s, "null"}
		}
		return s
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == reflect.TypeOf(json.RawMessage(nil)):
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := g.value(t.Elem(), false)
		if nullable {
			return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
		}
		return s
	case reflect.Struct:
		return map[string]any{"$ref": g.ref(t)}
	case reflect.Slice:
		return map[string]any{"type": typ("array"), "items": g.value(t.Elem(), false)}
	case reflect.Map:
		return map[string]any{"type": typ("object"), "additionalProperties": g.value(t.Elem(), false)}
	case reflect.Interface:
		return map[string]any{}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		// Every integer in a document is a count, a code or an index.
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		// Rates, durations, percentiles and shares are never negative;
		// the few signed figures (changes) say so in schemaRules.
		return map[string]any{"type": "number", "minimum": 0}
	}
	panic("schema: no JSON form for " + t.String())
}

// schemaRules adds what reflection cannot see, by "Type.json_name".
var schemaRules = map[string]map[string]any{
	"JSONReport.schema":       {"const": Schema},
	"Document.schema":         {"const": Schema},
	"JSONReport.hdr_unit":     {"const": HDRUnit},
	"JSONReport.load_model":   {"enum": []string{"closed", "open"}},
	"JSONReport.stop_reason":  {"enum": []string{"messages", "duration", "signal", "connect_failed"}},
	"Document.kind":           {"enum": []string{KindSweep, KindAB}},
	"SweepJSON.varies":        {"enum": []string{VariesConcurrency, VariesRate, VariesSearch}},
	"CompareLine.verdict":     {"enum": []string{VerdictBetter, VerdictWorse, VerdictSame, VerdictFew, VerdictUntested}},
	"CompareLine.change_pct":  {"minimum": nil},
	"KneeJSON.gain_pct":       {"minimum": nil},
	"KneeJSON.p99_growth_pct": {"minimum": nil},
}
