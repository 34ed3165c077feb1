package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/internal/scim"
	"github.com/scimflow/scimflow/internal/scim/patch"
	"github.com/scimflow/scimflow/internal/scim/schema"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// memberPage is how many members are read and written at a time when a
// group is rendered: a group of 100,000 members never sits in memory whole.
const memberPage = 1000

func (s *Server) groupRoutes(r *gin.RouterGroup) {
	r.GET("/Groups", handle(s.heavy(s.listGroups)))
	r.POST("/Groups", handle(s.createGroup))
	r.POST("/Groups/.search", handle(s.heavy(search(s.queryGroups))))
	r.GET("/Groups/:id", handle(s.heavy(s.getGroup)))
	r.PUT("/Groups/:id", handle(s.replaceGroup))
	r.PATCH("/Groups/:id", handle(s.patchGroup))
	r.DELETE("/Groups/:id", handle(s.deleteGroup))
}

// decodeGroup reads a full Group from a POST or PUT body; members reports
// whether the body asserts the member list.
func decodeGroup(c *gin.Context) (g *scimflow.Group, memberIDs []string, members bool, err error) {
	raw, err := readJSON(c)
	if err != nil {
		return nil, nil, false, err
	}
	norm, err := schema.Normalize(raw, schema.GroupResourceType)
	if err != nil {
		return nil, nil, false, err
	}
	return scim.DecodeGroup(norm, raw)
}

func (s *Server) createGroup(c *gin.Context) error {
	p, err := projection(c)
	if err != nil {
		return err
	}
	g, ids, _, err := decodeGroup(c)
	if err != nil {
		return err
	}
	if g, err = s.Groups.CreateGroup(c, orgID(c), g, ids); err != nil {
		return err
	}
	return s.writeGroup(c, http.StatusCreated, g, p)
}

func (s *Server) getGroup(c *gin.Context) error {
	p, err := projection(c)
	if err != nil {
		return err
	}
	g, err := s.Groups.FindGroup(c, orgID(c), c.Param("id"))
	if err != nil {
		return err
	}
	if inm := c.GetHeader("If-None-Match"); inm != "" && scim.ETagMatches(inm, g.Version) {
		c.Header("ETag", scim.ETag(g.Version))
		c.Status(http.StatusNotModified)
		return nil
	}
	return s.writeGroup(c, http.StatusOK, g, p)
}

func (s *Server) replaceGroup(c *gin.Context) error {
	p, err := projection(c)
	if err != nil {
		return err
	}
	next, ids, hasMembers, err := decodeGroup(c)
	if err != nil {
		return err
	}
	ch := scimflow.GroupChange{
		Check: func(g *scimflow.Group) error { return ifMatch(c)(g.Version) },
		Apply: func(g *scimflow.Group) error {
			g.DisplayName, g.ExternalID = next.DisplayName, next.ExternalID
			return nil
		},
	}
	if hasMembers {
		ch.Members = []scimflow.MemberOp{{Kind: scimflow.MembersSet, UserIDs: ids}}
	}
	g, err := s.Groups.UpdateGroup(c, orgID(c), c.Param("id"), ch)
	if err != nil {
		return err
	}
	return s.writeGroup(c, http.StatusOK, g, p)
}

func (s *Server) patchGroup(c *gin.Context) error {
	p, err := projection(c)
	if err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	ops, err := patch.Parse(body)
	if err != nil {
		return err
	}
	gp, err := scim.SplitGroupPatch(ops)
	if err != nil {
		return err
	}
	base := s.baseURL(c) + "/scim/v2"
	ch := scimflow.GroupChange{
		Check:   func(g *scimflow.Group) error { return ifMatch(c)(g.Version) },
		Members: gp.Members,
	}
	if len(gp.Attrs) > 0 {
		ch.Apply = func(g *scimflow.Group) error {
			doc, err := gp.ApplyAttrs(scim.EncodeGroup(g, base), schema.GroupResourceType)
			if err != nil {
				return err
			}
			norm, err := schema.NormalizePatched(doc, schema.GroupResourceType)
			if err != nil {
				return err
			}
			next, _, _, err := scim.DecodeGroup(norm, nil)
			if err != nil {
				return err
			}
			g.DisplayName, g.ExternalID = next.DisplayName, next.ExternalID
			return nil
		}
	}
	g, err := s.Groups.UpdateGroup(c, orgID(c), c.Param("id"), ch)
	if err != nil {
		return err
	}
	// RFC 7644 §3.5.2: 204 unless the client asked for attributes. A
	// group's member list can be huge; never echo it unasked.
	if c.Query("attributes") == "" && c.Query("excludedAttributes") == "" {
		c.Header("ETag", scim.ETag(g.Version))
		c.Status(http.StatusNoContent)
		return nil
	}
	return s.writeGroup(c, http.StatusOK, g, p)
}

func (s *Server) deleteGroup(c *gin.Context) error {
	if err := s.Groups.DeleteGroup(c, orgID(c), c.Param("id"), ifMatch(c)); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) listGroups(c *gin.Context) error {
	return s.queryGroups(c, listRequestFromQuery(c))
}

func (s *Server) queryGroups(c *gin.Context, r listRequest) error {
	q, p, err := r.parse(schema.GroupResourceType.ID)
	if err != nil {
		return err
	}
	groups, pg, err := s.Groups.ListGroupsPage(c, orgID(c), q)
	if err != nil {
		return err
	}
	w := newStream(c)
	resp := listResponse(schema.GroupResourceType.ID, q, pg, nil)
	resp.ItemsPerPage = len(groups)
	w.raw(resp.Head())
	w.raw([]byte(`,"Resources":[`))
	for i, g := range groups {
		if i > 0 {
			w.raw([]byte(","))
		}
		if err := s.streamGroup(c, w, g, p); err != nil {
			return w.fail(s, err)
		}
	}
	w.raw([]byte("]}"))
	w.flush()
	return nil
}

// writeGroup answers with one group: ETag, Location for 201, and its
// members streamed page by page unless the projection leaves them out.
func (s *Server) writeGroup(c *gin.Context, status int, g *scimflow.Group, p scim.Projection) error {
	base := s.baseURL(c) + "/scim/v2"
	c.Header("ETag", scim.ETag(g.Version))
	if status == http.StatusCreated {
		c.Header("Location", base+"/Groups/"+g.ID)
	}
	w := newStream(c)
	w.status = status
	if err := s.streamGroup(c, w, g, p); err != nil {
		return w.fail(s, err)
	}
	w.flush()
	return nil
}

// streamGroup writes g as a JSON object, members last.
func (s *Server) streamGroup(c *gin.Context, w *stream, g *scimflow.Group, p scim.Projection) error {
	base := s.baseURL(c) + "/scim/v2"
	head, _ := json.Marshal(p.Apply(scim.EncodeGroup(g, base)))
	if p.Excludes("members") {
		w.raw(head)
		return nil
	}
	w.raw(head[:len(head)-1])
	w.raw([]byte(`,"members":[`))
	after, n := "", 0
	for {
		page, err := s.Groups.Members(c, orgID(c), g.ID, after, memberPage)
		if err != nil {
			return err
		}
		for _, m := range page {
			if n > 0 {
				w.raw([]byte(","))
			}
			b, _ := json.Marshal(scim.EncodeMember(m, base))
			w.raw(b)
			n++
		}
		if len(page) < memberPage {
			break
		}
		after = page[len(page)-1].UserID
		w.flush()
	}
	w.raw([]byte("]}"))
	return nil
}

// stream writes a SCIM response in pieces. The status and headers go out
// with the first piece; an error after that can only cut the response, so
// that a client never mistakes a partial member list for a whole one.
type stream struct {
	c       *gin.Context
	status  int
	started bool
	buf     bytes.Buffer
}

func newStream(c *gin.Context) *stream { return &stream{c: c, status: http.StatusOK} }

func (w *stream) raw(b []byte) {
	w.buf.Write(b)
	if w.buf.Len() >= 64<<10 {
		w.flush()
	}
}

func (w *stream) flush() {
	if !w.started {
		w.c.Header("Content-Type", scim.MediaType)
		w.c.Status(w.status)
		w.started = true
	}
	w.c.Writer.Write(w.buf.Bytes())
	w.buf.Reset()
	w.c.Writer.Flush()
}

// fail returns err for the group's renderer when nothing was sent yet;
// otherwise it logs err and cuts the connection.
func (w *stream) fail(s *Server, err error) error {
	if !w.started {
		w.buf.Reset()
		return err
	}
	s.logError(w.c, http.StatusInternalServerError, err)
	panic(http.ErrAbortHandler)
}
