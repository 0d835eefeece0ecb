package fakegithub

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxTokenRepositories is GitHub's limit on repositories named when minting an installation token.
const maxTokenRepositories = 500

func (s *Server) createAccessToken(c *call) reply {
	inst := s.st.installations[intParam(c, "installation_id")]
	if inst == nil {
		return notFound()
	}
	var body struct {
		Repositories  []string          `json:"repositories"`
		RepositoryIDs []int64           `json:"repository_ids"`
		Permissions   map[string]string `json:"permissions"`
	}
	if rep := decodeBody(c, &body); rep != nil {
		return *rep
	}
	if n := len(body.Repositories) + len(body.RepositoryIDs); n > maxTokenRepositories {
		return invalid(c, "Installation", "repositories",
			fmt.Sprintf("%d repositories requested; at most %d may be named", n, maxTokenRepositories))
	}
	perms := maps.Clone(inst.permissions)
	if len(body.Permissions) > 0 {
		perms = maps.Clone(body.Permissions)
		for name, lvl := range body.Permissions {
			if level(inst.permissions[name]) < level(lvl) {
				return invalid(c, "Installation", "permissions", fmt.Sprintf(
					"The permissions requested are not granted to this installation (%s:%s).", name, lvl))
			}
		}
	}
	var names []string
	for _, name := range body.Repositories {
		rs := s.st.repo(inst.account, name)
		if rs == nil || rs.InstallationID != inst.id {
			return invalid(c, "Installation", "repositories", "There is at least one repository that does not "+
				"exist or is not accessible to the parent installation ("+name+").")
		}
		names = append(names, rs.Name)
	}
	for _, id := range body.RepositoryIDs {
		rs := s.st.repoByID(id)
		if rs == nil || rs.InstallationID != inst.id {
			return invalid(c, "Installation", "repository_ids", fmt.Sprintf("There is at least one repository "+
				"that does not exist or is not accessible to the parent installation (%d).", id))
		}
		names = append(names, rs.Name)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	tok := s.st.mintToken(inst.id, perms, names)
	tok.RepositoryIDs = slices.Clone(body.RepositoryIDs)
	resp := object{
		"token": tok.Token, "expires_at": timestamp(tok.ExpiresAt), "permissions": perms,
		"repository_selection": "all",
	}
	if len(names) > 0 {
		repos := make([]any, 0, len(names))
		for _, n := range names {
			repos = append(repos, s.repoJSON(inst.account, n))
		}
		resp["repository_selection"], resp["repositories"] = "selected", repos
	}
	return ok(http.StatusCreated, resp)
}

func (s *Server) getInstallation(c *call) reply {
	inst := s.st.installations[intParam(c, "installation_id")]
	if inst == nil {
		return notFound()
	}
	return ok(http.StatusOK, s.installationJSON(inst))
}

func (s *Server) getRepoInstallation(c *call) reply {
	rs := s.st.repo(c.params["owner"], c.params["repo"])
	if rs == nil || s.st.installations[rs.InstallationID] == nil {
		return notFound()
	}
	return ok(http.StatusOK, s.installationJSON(s.st.installations[rs.InstallationID]))
}

func (s *Server) revokeToken(c *call) reply {
	c.token.Revoked = true
	return reply{status: http.StatusNoContent}
}

// listHookDeliveries lists the App's deliveries newest first, paginated by an opaque cursor as GitHub does.
func (s *Server) listHookDeliveries(c *call) reply {
	ds := slices.Clone(s.st.deliveries)
	sort.SliceStable(ds, func(i, j int) bool {
		if !ds[i].DeliveredAt.Equal(ds[j].DeliveredAt) {
			return ds[i].DeliveredAt.After(ds[j].DeliveredAt)
		}
		return ds[i].ID > ds[j].ID
	})
	if status := c.query.Get("status"); status != "" {
		ds = slices.DeleteFunc(ds, func(d HookDelivery) bool {
			return (status == "success") != (d.StatusCode >= 200 && d.StatusCode < 300)
		})
	}
	rep := reply{status: http.StatusOK}
	per := 30
	if v := c.query.Get("per_page"); v != "" {
		per, _ = strconv.Atoi(v)
	}
	if per > maxPerPage {
		rep.violation = fmt.Sprintf("per_page=%d exceeds GitHub's maximum of %d", per, maxPerPage)
		per = maxPerPage
	}
	per = max(per, 1)
	start := 0
	if cur := c.query.Get("cursor"); cur != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(cur, "v1_"))
		if err != nil || n < 0 {
			return invalid(c, "HookDelivery", "cursor", "cursor "+strconv.Quote(cur)+" was not issued by GitHub")
		}
		start = min(n, len(ds))
	}
	end := min(start+per, len(ds))
	if end < len(ds) {
		q := c.r.URL.Query()
		q.Set("cursor", fmt.Sprintf("v1_%d", end))
		q.Set("per_page", strconv.Itoa(per))
		rep.header = http.Header{"Link": {fmt.Sprintf(`<%s?%s>; rel="next"`,
			s.apiURL("/app/hook/deliveries"), q.Encode())}}
	}
	items := make([]any, 0, end-start)
	for _, d := range ds[start:end] {
		items = append(items, deliveryJSON(d))
	}
	rep.body = items
	return rep
}

func deliveryJSON(d HookDelivery) object {
	var action any
	if d.Action != "" {
		action = d.Action
	}
	return object{
		"id": d.ID, "guid": d.GUID, "delivered_at": timestamp(d.DeliveredAt), "redelivery": d.Redelivery,
		"duration": 0.27, "status": d.Status, "status_code": d.StatusCode, "event": d.Event, "action": action,
		"installation_id": d.InstallationID, "repository_id": d.RepositoryID, "throttled_at": nil,
	}
}

// redeliver records the attempt and, as GitHub does, adds a new delivery with the same GUID marked redelivery.
func (s *Server) redeliver(c *call) reply {
	id := intParam(c, "delivery_id")
	i := slices.IndexFunc(s.st.deliveries, func(d HookDelivery) bool { return d.ID == id })
	if i < 0 {
		return notFound()
	}
	again := s.st.deliveries[i]
	again.ID = s.st.nextID(deliveryIDBase)
	again.Redelivery = true
	again.DeliveredAt = time.Now().UTC()
	s.st.deliveries = append(s.st.deliveries, again)
	s.st.redeliveries = append(s.st.redeliveries, id)
	return ok(http.StatusAccepted, object{})
}

func (st *state) repoByID(id int64) *repoState {
	for _, rs := range st.repos {
		if rs.ID == id {
			return rs
		}
	}
	return nil
}

func (s *Server) getApp(c *call) reply {
	return ok(http.StatusOK, s.appJSON())
}
