// Package k8s checks the Kubernetes manifests in deploy/kubernetes against
// the Kubernetes API types, strictly (an unknown or misspelt field is an
// error), and checks that they fit together and with smtpbench's command
// line. It lives in its own module so that k8s.io/api is not a dependency of
// smtpbench.
package k8s

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// startAtPlaceholder is what docs/distributed.md tells users to replace.
const startAtPlaceholder = "SET-START-AT"

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// object is one decoded manifest document.
type object struct {
	file string
	kind string
	obj  any
}

// decodeAll reads every YAML document of every manifest, strictly, into the
// API type its apiVersion and kind name.
func decodeAll(t *testing.T, dir string) []object {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", dir, err)
	}
	var out []object
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range splitYAML(raw) {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s document %d: %v", filepath.Base(f), i+1, err)
			}
			var obj any
			switch tm.APIVersion + " " + tm.Kind {
			case "batch/v1 Job":
				obj = &batchv1.Job{}
			case "v1 PersistentVolumeClaim":
				obj = &corev1.PersistentVolumeClaim{}
			default:
				t.Fatalf("%s document %d: %s %s is not a kind these manifests use", filepath.Base(f), i+1, tm.APIVersion, tm.Kind)
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Fatalf("%s document %d (%s): %v", filepath.Base(f), i+1, tm.Kind, err)
			}
			out = append(out, object{filepath.Base(f), tm.Kind, obj})
		}
	}
	return out
}

// splitYAML splits a multi-document YAML file at its "---" lines, dropping
// documents that hold only comments.
func splitYAML(raw []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(raw), -1) {
		meaningful := false
		for _, line := range strings.Split(d, "\n") {
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
				meaningful = true
			}
		}
		if meaningful {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func TestStrictDecodeRejectsTypos(t *testing.T) {
	// The check below would be worthless if a typo decoded silently.
	typo := []byte("apiVersion: batch/v1\nkind: Job\nspec:\n  paralelism: 3\n")
	if err := yaml.UnmarshalStrict(typo, &batchv1.Job{}); err == nil {
		t.Fatal("a misspelt field decoded without error")
	}
}

func TestManifests(t *testing.T) {
	root := repoRoot(t)
	objs := decodeAll(t, filepath.Join(root, "deploy", "kubernetes"))

	var gen, merge *batchv1.Job
	var pvc *corev1.PersistentVolumeClaim
	for _, o := range objs {
		switch v := o.obj.(type) {
		case *batchv1.Job:
			switch v.Name {
			case "smtpbench":
				gen = v
			case "smtpbench-merge":
				merge = v
			default:
				t.Errorf("%s: unexpected Job %q", o.file, v.Name)
			}
		case *corev1.PersistentVolumeClaim:
			pvc = v
		}
	}
	if gen == nil || merge == nil || pvc == nil {
		t.Fatalf("want the generator Job, the merge Job and the results claim; got job %v, merge %v, claim %v", gen != nil, merge != nil, pvc != nil)
	}

	// The generators: an Indexed Job running all N at once, each once.
	spec := gen.Spec
	if spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("generator Job: completionMode must be Indexed so that each pod gets JOB_COMPLETION_INDEX")
	}
	if spec.Completions == nil || spec.Parallelism == nil || *spec.Completions != *spec.Parallelism || *spec.Completions < 2 {
		t.Fatalf("generator Job: parallelism and completions must be equal (all shards at once) and at least 2")
	}
	n := int(*spec.Completions)
	if spec.BackoffLimit == nil || *spec.BackoffLimit != 0 {
		t.Errorf("generator Job: backoffLimit must be 0: a retried shard would send its share at the wrong time")
	}
	if spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("generator Job: restartPolicy must be Never")
	}
	if len(spec.Template.Spec.Containers) != 1 {
		t.Fatalf("generator Job: want one container")
	}
	c := spec.Template.Spec.Containers[0]
	args := c.Args
	if len(args) == 0 || args[0] != "run" {
		t.Fatalf("generator args %q: want smtpbench run", args)
	}
	if v := flagValue(args, "--shards"); v != strconv.Itoa(n) {
		t.Errorf("--shards %q, want %d (the completions)", v, n)
	}
	if v := flagValue(args, "--start-at"); v != "$(START_AT)" {
		t.Errorf("--start-at %q, want $(START_AT)", v)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if env["START_AT"].Value != startAtPlaceholder {
		t.Errorf("START_AT = %q, want the placeholder %s that the docs replace", env["START_AT"].Value, startAtPlaceholder)
	}
	idx := env["SHARD_INDEX"].ValueFrom
	if idx == nil || idx.FieldRef == nil || idx.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("SHARD_INDEX must come from the completion-index annotation")
	}
	out := flagValue(args, "--out")
	if out != "/results/shard-$(SHARD_INDEX).json" {
		t.Errorf("--out %q: want /results/shard-$(SHARD_INDEX).json", out)
	}
	checkResultsVolume(t, "generator", spec.Template.Spec, pvc.Name)

	// The claim is writable from every node at once.
	if !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
		t.Errorf("claim %s: generators on several nodes write to it: want ReadWriteMany", pvc.Name)
	}

	// The merge step reads exactly the N files the generators write.
	mc := merge.Spec.Template.Spec.Containers
	if len(mc) != 1 || len(mc[0].Args) == 0 || mc[0].Args[0] != "merge" {
		t.Fatalf("merge Job: want one container running smtpbench merge")
	}
	var files []string
	for _, a := range mc[0].Args {
		if strings.HasPrefix(a, "/results/shard-") {
			files = append(files, a)
		}
	}
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("/results/shard-%d.json", i))
	}
	if !slices.Equal(files, want) {
		t.Errorf("merge reads %q, want the %d shard files %q", files, n, want)
	}
	if mc[0].Image != c.Image {
		t.Errorf("merge image %q differs from the generators' %q", mc[0].Image, c.Image)
	}
	checkResultsVolume(t, "merge", merge.Spec.Template.Spec, pvc.Name)

	// The command lines are ones smtpbench accepts.
	checkCommandLine(t, root, args)
	checkCommandLine(t, root, mc[0].Args)

	// The walkthrough replaces the placeholder the manifest holds.
	doc, err := os.ReadFile(filepath.Join(root, "docs", "distributed.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, []byte("s/"+startAtPlaceholder+"/")) {
		t.Errorf("docs/distributed.md does not show how to replace %s", startAtPlaceholder)
	}
}

func checkResultsVolume(t *testing.T, name string, pod corev1.PodSpec, claim string) {
	t.Helper()
	var vol string
	for _, v := range pod.Volumes {
		if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim {
			vol = v.Name
		}
	}
	if vol == "" {
		t.Errorf("%s Job: no volume from claim %s", name, claim)
		return
	}
	for _, m := range pod.Containers[0].VolumeMounts {
		if m.Name == vol && m.MountPath == "/results" && !m.ReadOnly {
			return
		}
	}
	t.Errorf("%s Job: volume %s not mounted writable at /results", name, vol)
}

func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// checkCommandLine runs the real smtpbench with the manifest's arguments,
// the $(VAR)s expanded as the kubelet would, to see that it accepts every
// flag: with "--help" appended it parses them all and prints the usage
// (exit 0), where an unknown flag or a bad value fails before that.
func checkCommandLine(t *testing.T, root string, args []string) {
	t.Helper()
	expanded := make([]string, len(args))
	start := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	for i, a := range args {
		a = strings.ReplaceAll(a, "$(START_AT)", start)
		a = strings.ReplaceAll(a, "$(SHARD_INDEX)", "0")
		if strings.Contains(a, "$(") {
			t.Errorf("argument %q uses a variable this check does not know", a)
		}
		expanded[i] = a
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", append([]string{"run", "./cmd/smtpbench"}, append(expanded, "--help")...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "JOB_COMPLETION_INDEX=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("smtpbench %q: %v\n%s", expanded, err, out)
		return
	}
	if !strings.Contains(string(out), "Usage: smtpbench "+args[0]) {
		t.Errorf("smtpbench %q --help printed no usage:\n%s", expanded, out)
	}
}
