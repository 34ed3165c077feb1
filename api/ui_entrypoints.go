package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/access"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// The entry points pages: the list with who each one serves, create,
// rename, and delete after a confirmation that says who loses access.
// They do what /api/v1/entry-points does, with the same store calls.

func (s *Server) uiEntryPointRoutes(in *gin.RouterGroup) {
	ep := in.Group("/entry-points", s.require(orgAdminPrereqs))
	ep.GET("", handle(s.uiEntryPoints))
	ep.POST("", handle(s.uiCreateEntryPoint))
	ep.GET("/:id", handle(s.uiEntryPoint))
	ep.POST("/:id/rename", handle(s.uiRenameEntryPoint))
	ep.GET("/:id/delete", handle(s.uiConfirmDeleteEntryPoint))
	ep.POST("/:id/delete", handle(s.uiDeleteEntryPoint))
}

// uiEntryPointRow is an entry point with who it serves.
type uiEntryPointRow struct {
	*scimflow.EntryPoint
	Users  int
	Grants []uiGrantRow
}

type uiEntryPointsData struct {
	Search   string
	Rows     []uiEntryPointRow
	Total    int
	Page     int
	Pages    int
	PrevURL  string
	NextURL  string
	Error    string
	FormName string
}

func (s *Server) usageRows(c *gin.Context, eps []*scimflow.EntryPoint) ([]uiEntryPointRow, error) {
	ids := make([]string, len(eps))
	for i, e := range eps {
		ids[i] = e.ID
	}
	usage, err := s.EntryPoints.EntryPointUsage(c, orgID(c), ids)
	if err != nil {
		return nil, err
	}
	rows := make([]uiEntryPointRow, len(eps))
	for i, e := range eps {
		u := usage[e.ID]
		rows[i] = uiEntryPointRow{EntryPoint: e, Users: u.Users}
		for _, g := range u.Grants {
			r, _ := access.ParseRole(g.Role)
			rows[i].Grants = append(rows[i].Grants, uiGrantRow{GroupID: g.GroupID, GroupName: g.GroupName, Role: r.Title()})
		}
	}
	return rows, nil
}

func (s *Server) entryPointsPage(c *gin.Context) (*uiEntryPointsData, error) {
	pageNo, _ := strconv.Atoi(c.Query("page"))
	pageNo = min(max(pageNo, 1), maxPage)
	search := strings.TrimSpace(c.Query("q"))
	eps, total, err := s.EntryPoints.ListEntryPoints(c, orgID(c), search, (pageNo-1)*uiPerPage, uiPerPage)
	if err != nil {
		return nil, err
	}
	d := &uiEntryPointsData{Search: search, Total: total, Page: pageNo, Pages: (total + uiPerPage - 1) / uiPerPage}
	if d.Rows, err = s.usageRows(c, eps); err != nil {
		return nil, err
	}
	d.PrevURL, d.NextURL = pageLinks("/admin/entry-points", search, pageNo, d.Pages)
	return d, nil
}

func (s *Server) uiEntryPoints(c *gin.Context) error {
	d, err := s.entryPointsPage(c)
	if err != nil {
		return err
	}
	p := &uiPage{Title: "Entry points", Nav: "entry-points", Body: d}
	switch {
	case c.Query("created") != "":
		p.Flash = "Entry point “" + c.Query("created") + "” created. Map groups to it on their group pages."
	case c.Query("deleted") != "":
		p.Flash = "Entry point “" + c.Query("deleted") + "” deleted."
	}
	s.render(c, http.StatusOK, "entry_points", p)
	return nil
}

// formProblem reports whether err is a mistake in a form the page can
// show next to it (an empty or taken name), rather than an error page.
func formProblem(err error) bool {
	code := scimflow.ErrorCode(err)
	return code == scimflow.EINVALID || code == scimflow.ECONFLICT
}

func (s *Server) uiCreateEntryPoint(c *gin.Context) error {
	name := c.PostForm("name")
	if !plainText(name) {
		return scimflow.Errorf(scimflow.EINVALID, "the name holds characters that cannot be stored")
	}
	e, err := s.EntryPoints.CreateEntryPoint(c, orgID(c), name)
	if formProblem(err) {
		d, perr := s.entryPointsPage(c)
		if perr != nil {
			return perr
		}
		d.Error, d.FormName = scimflow.ErrorMessage(err), name
		s.render(c, http.StatusUnprocessableEntity, "entry_points", &uiPage{Title: "Entry points", Nav: "entry-points", Body: d})
		return nil
	}
	if err != nil {
		return err
	}
	c.Redirect(http.StatusSeeOther, "/admin/entry-points?created="+url.QueryEscape(e.Name))
	return nil
}

type uiEntryPointData struct {
	Row      uiEntryPointRow
	Error    string
	FormName string
}

func (s *Server) entryPointPage(c *gin.Context) (*uiEntryPointData, error) {
	e, err := s.EntryPoints.FindEntryPoint(c, orgID(c), c.Param("id"))
	if err != nil {
		return nil, err
	}
	rows, err := s.usageRows(c, []*scimflow.EntryPoint{e})
	if err != nil {
		return nil, err
	}
	return &uiEntryPointData{Row: rows[0], FormName: e.Name}, nil
}

func (s *Server) uiEntryPoint(c *gin.Context) error {
	d, err := s.entryPointPage(c)
	if err != nil {
		return err
	}
	p := &uiPage{Title: d.Row.Name, Nav: "entry-points", Body: d}
	if c.Query("renamed") != "" {
		p.Flash = "Renamed. Groups and users keep their access."
	}
	s.render(c, http.StatusOK, "entry_point", p)
	return nil
}

func (s *Server) uiRenameEntryPoint(c *gin.Context) error {
	name := c.PostForm("name")
	if !plainText(name) {
		return scimflow.Errorf(scimflow.EINVALID, "the name holds characters that cannot be stored")
	}
	e, err := s.EntryPoints.RenameEntryPoint(c, orgID(c), c.Param("id"), name)
	if formProblem(err) {
		d, perr := s.entryPointPage(c)
		if perr != nil {
			return perr
		}
		d.Error, d.FormName = scimflow.ErrorMessage(err), name
		s.render(c, http.StatusUnprocessableEntity, "entry_point", &uiPage{Title: d.Row.Name, Nav: "entry-points", Body: d})
		return nil
	}
	if err != nil {
		return err
	}
	c.Redirect(http.StatusSeeOther, "/admin/entry-points/"+url.PathEscape(e.ID)+"?renamed=1")
	return nil
}

func (s *Server) uiConfirmDeleteEntryPoint(c *gin.Context) error {
	d, err := s.entryPointPage(c)
	if err != nil {
		return err
	}
	s.render(c, http.StatusOK, "entry_point_delete", &uiPage{Title: "Delete " + d.Row.Name + "?", Nav: "entry-points", Body: d})
	return nil
}

func (s *Server) uiDeleteEntryPoint(c *gin.Context) error {
	e, err := s.EntryPoints.FindEntryPoint(c, orgID(c), c.Param("id"))
	if err != nil {
		return err
	}
	if err := s.EntryPoints.DeleteEntryPoint(c, orgID(c), e.ID); err != nil {
		return err
	}
	c.Redirect(http.StatusSeeOther, "/admin/entry-points?deleted="+url.QueryEscape(e.Name))
	return nil
}
