package main_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAdminMPIReviewAndDecide imports three Patients of three sources (two
// of one boy, and a third the scores cannot decide against either), then
// checks that the import matched them, that a rematch finds nothing to
// change, that the review lists the two undecided pairs with score and
// explanation, and that linking one closes both: the third record is then
// the boy's, and its other pair is decided by the person it is in.
func TestAdminMPIReviewAndDecide(t *testing.T) {
	work := t.TempDir()
	db := "sqlite:" + filepath.Join(work, "o.db")
	patient := func(given, birth, gender string) string {
		return `{"resourceType":"Patient","gender":"` + gender + `","birthDate":"` + birth + `","name":[{"family":"Kowalczyk","given":["` + given + `"]}],` +
			`"address":[{"line":["1820 Liberty Street"],"city":"Northampton","postalCode":"01060"}],"telecom":[{"system":"phone","value":"413-555-9151"}]}`
	}
	write := func(name, body string) string {
		p := filepath.Join(work, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.json", patient("Jaxon", "2001-04-04", "male"))
	b1 := write("b1.json", patient("Jaxon", "2001-04-04", "male"))
	b2 := write("b2.json", patient("J", "2001", "unknown"))
	for _, imp := range [][]string{{"urn:omnichart:source:a", a}, {"urn:omnichart:source:b", b1}, {"urn:omnichart:source:c", b2}} {
		if out, code := omnichart(t, work, "import", "--db", db, "--source", imp[0], "--progress", "none", imp[1]); code != 0 {
			t.Fatalf("import %s exited %d:\n%s", imp[1], code, out)
		}
	}
	out, code := omnichart(t, work, "admin", "mpi", "rematch", "--db", db)
	if code != 0 || !strings.Contains(out, "3 patients, 2 persons, 2 pairs in review") || !strings.Contains(out, "persons written 0, deleted 0") {
		t.Fatalf("rematch after import exited %d:\n%s\nwant 3 patients in 2 persons, 2 reviews, nothing written", code, out)
	}
	out, code = omnichart(t, work, "admin", "mpi", "review", "--db", db)
	if code != 0 || !strings.Contains(out, "2 task(s)") || !strings.Contains(out, "score") || !strings.Contains(out, "birthDate") {
		t.Fatalf("review exited %d:\n%s\nwant two tasks with score and explanation", code, out)
	}
	task := regexp.MustCompile(`Task/(match-[0-9a-f]+)`).FindStringSubmatch(out)
	if task == nil {
		t.Fatalf("no task id in:\n%s", out)
	}
	if out, code := omnichart(t, work, "admin", "mpi", "decide", task[1], "link", "--db", db, "--reviewer", "user/jdoe"); code == 0 {
		t.Errorf("decide without a reason succeeded:\n%s", out)
	}
	if out, code := omnichart(t, work, "admin", "mpi", "decide", task[1], "link", "--db", db, "--reviewer", "user/jdoe", "--reason", "same boy"); code != 0 {
		t.Fatalf("decide exited %d:\n%s", code, out)
	}
	out, _ = omnichart(t, work, "admin", "mpi", "review", "--db", db, "--all")
	if !strings.Contains(out, "decided link by user/jdoe") || !strings.Contains(out, "same boy") {
		t.Errorf("review --all after the decision:\n%s", out)
	}
	if out, _ := omnichart(t, work, "admin", "mpi", "review", "--db", db); !strings.Contains(out, "0 task(s)") {
		t.Errorf("tasks still open after the decision:\n%s", out)
	}
	if out, _ := omnichart(t, work, "admin", "mpi", "rematch", "--db", db); !strings.Contains(out, "3 patients, 1 persons, 0 pairs in review, 1 decided pairs") {
		t.Errorf("rematch after the decision:\n%s\nwant one person", out)
	}
}
