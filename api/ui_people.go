package api

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// The people pages: the org's users with search and paging, and the
// members of a group. Both are keyset pages sorted by userName (see
// store.SearchUsers), linked with ?after= and ?before=.

// uiPeople is a page of users with the links around it.
type uiPeople struct {
	scimflow.UserPage
	PrevURL, NextURL string
}

// pageQuery reads ?after= and ?before= (one of them at most).
func pageQuery(c *gin.Context, search string) scimflow.PageQuery {
	q := scimflow.PageQuery{Search: search, After: c.Query("after"), Limit: uiPerPage}
	if q.After == "" {
		q.Before = c.Query("before")
	}
	return q
}

// peopleLinks returns p with the links to the pages around it; base is
// the page's URL with its other parameters, anchor its fragment.
func peopleLinks(p scimflow.UserPage, base url.Values, path, anchor string) uiPeople {
	out := uiPeople{UserPage: p}
	link := func(k, v string) string {
		q := url.Values{}
		for bk, bv := range base {
			q[bk] = bv
		}
		q.Set(k, v)
		return path + "?" + q.Encode() + anchor
	}
	if p.HasPrev && p.First != "" {
		out.PrevURL = link("before", p.First)
	}
	if p.HasNext && p.Last != "" {
		out.NextURL = link("after", p.Last)
	}
	return out
}

type uiUsersData struct {
	Search string
	People uiPeople
	Error  string
}

func (s *Server) uiUsers(c *gin.Context) error {
	search := strings.TrimSpace(c.Query("search"))
	d := uiUsersData{Search: search}
	p, err := s.Access.SearchUsers(c, orgID(c), pageQuery(c, search))
	switch {
	case scimflow.ErrorCode(err) == scimflow.EINVALID:
		d.Error = scimflow.ErrorMessage(err)
	case err != nil:
		return err
	}
	base := url.Values{}
	if search != "" {
		base.Set("search", search)
	}
	d.People = peopleLinks(p, base, "/admin/users", "")
	status := http.StatusOK
	if d.Error != "" {
		status = http.StatusBadRequest
	}
	s.render(c, status, "users", &uiPage{Title: "People", Nav: "people", Body: d})
	return nil
}
