package atomicfile

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestCommitReplacesAndCloseKeepsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "result.json")
	if err := os.WriteFile(name, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}

	// Abandoned: the old content stays, and no temporary file is left.
	f, err := Create(name)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("half"))
	if got, _ := os.ReadFile(name); string(got) != "old" {
		t.Fatalf("while writing, the target holds %q, want the old content", got)
	}
	f.Close()
	if got, _ := os.ReadFile(name); string(got) != "old" {
		t.Fatalf("after Close without Commit the target holds %q", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("left %d files in the directory, want 1", len(ents))
	}

	// Committed: the new content, with the old file's permissions.
	if err := WriteFile(name, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(name); string(got) != "new" {
		t.Fatalf("after Commit the target holds %q", got)
	}
	if fi, _ := os.Stat(name); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the old file's 0640", fi.Mode().Perm())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("left %d files in the directory, want 1", len(ents))
	}
}

func TestCreateFailsAtOnceOnABadPath(t *testing.T) {
	dir := t.TempDir()
	if _, err := Create(filepath.Join(dir, "missing", "x.html")); err == nil {
		t.Fatal("Create in a missing directory succeeded")
	}
	if _, err := Create(dir); err == nil {
		t.Fatal("Create over a directory succeeded")
	}
}

func TestSame(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.json")
	os.WriteFile(a, []byte("{}"), 0o644)
	link := filepath.Join(dir, "link.json")
	hard := filepath.Join(dir, "hard.json")
	haveSymlink := os.Symlink(a, link) == nil
	haveHard := os.Link(a, hard) == nil
	for _, c := range []struct {
		a, b string
		want bool
		skip bool
	}{
		{a, a, true, false},
		{a, filepath.Join(dir, ".", "x", "..", "a.json"), true, false},
		{a, filepath.Join(dir, "b.json"), false, false},
		{filepath.Join(dir, "new.json"), filepath.Join(dir, "new.json"), true, false},
		{a, link, true, !haveSymlink},
		{a, hard, true, !haveHard},
		{a, "", false, false},
	} {
		if c.skip {
			continue
		}
		if got := Same(c.a, c.b); got != c.want {
			t.Errorf("Same(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
	// A relative spelling of the same path.
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(dir)
	if !Same("a.json", a) {
		t.Errorf("Same(a.json, %s) = false from its directory", a)
	}
}

// TestLinksAndDevices: a symbolic link keeps pointing at the file it names,
// which is replaced; a device is written in place, never renamed over.
func TestLinksAndDevices(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.json")
	os.WriteFile(real, []byte("old"), 0o644)
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(real, link); err == nil {
		if err := WriteFile(link, []byte("new")); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the link was replaced: %v %v", fi.Mode(), err)
		}
		if got, _ := os.ReadFile(real); string(got) != "new" {
			t.Errorf("the file the link names holds %q", got)
		}
	}
	if _, err := os.Stat(os.DevNull); err == nil {
		if err := WriteFile(os.DevNull, []byte("x")); err != nil {
			t.Errorf("writing %s: %v", os.DevNull, err)
		}
		if fi, err := os.Stat(os.DevNull); err != nil || fi.Mode().IsRegular() {
			t.Errorf("%s is now a regular file", os.DevNull)
		}
	}
}
