package fakegithub_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"
)

func TestTarball(t *testing.T) {
	s := seeded(t)
	s.AddBranch(owner, repoName, "topic", headSHA)
	s.SetFiles(owner, repoName, "topic", map[string][]byte{"main.tf": []byte("# head\n"), "modules/a/main.tf": []byte("# a\n")})
	client := s.Client(t, installationID)
	ctx := context.Background()

	link, _, err := client.Repositories.GetArchiveLink(ctx, owner, repoName, github.Tarball,
		&github.RepositoryContentGetOptions{Ref: headSHA}, 0)
	if err != nil {
		t.Fatalf("GetArchiveLink: %v %v", err, s.Violations())
	}
	if strings.Contains(s.URL, link.Host) || link.Query().Get("token") == "" {
		t.Fatalf("the archive link %s should point at the codeload host with a token", link)
	}
	resp, err := http.Get(link.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	gz, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatalf("the archive is not gzip: %v", err)
	}
	tr := tar.NewReader(gz)
	files, comment := map[string]string{}, ""
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			comment = h.PAXRecords["comment"]
			continue
		}
		if h.Typeflag == tar.TypeReg {
			body, _ := io.ReadAll(tr)
			files[h.Name] = string(body)
		}
	}
	top := "acme-infra-" + headSHA[:7] + "/"
	if comment != headSHA || files[top+"main.tf"] != "# head\n" || files[top+"modules/a/main.tf"] != "# a\n" || len(files) != 2 {
		t.Errorf("archive: comment %q files %v", comment, files)
	}

	again, err := http.Get(link.String())
	if err != nil {
		t.Fatal(err)
	}
	again.Body.Close()
	if again.StatusCode != http.StatusNotFound {
		t.Errorf("a second download of a one-time link = %d, want 404", again.StatusCode)
	}
	if s.ArchiveFetches() != 2 {
		t.Errorf("ArchiveFetches = %d, want 2", s.ArchiveFetches())
	}
	bad := *link
	bad.RawQuery = url.Values{"token": {"forged"}}.Encode()
	if r, err := http.Get(bad.String()); err != nil || r.StatusCode != http.StatusNotFound {
		t.Errorf("a forged link answered %v %v", r.StatusCode, err)
	}

	if _, resp, err := client.Repositories.GetArchiveLink(ctx, owner, repoName, github.Tarball,
		&github.RepositoryContentGetOptions{Ref: "no-such-branch"}, 0); err == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown ref: %v", err)
	}
}
