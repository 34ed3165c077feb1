package api

import (
	"html/template"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/scimflow/scimflow/docs/idp"
	"github.com/scimflow/scimflow/internal/scimflow"
)

type guideData struct {
	HTML   template.HTML
	Guides any
	Slug   string
}

// uiGuide renders a troubleshooting guide of docs/idp. The guides hold no
// secrets, so they are readable without signing in (the sign-in page and
// the prerequisites page link to them).
func (s *Server) uiGuide(c *gin.Context) error {
	slug := c.Param("guide")
	for _, g := range idpGuides {
		if g.Slug != slug {
			continue
		}
		b, err := idp.Guides.ReadFile(slug + ".md")
		if err != nil {
			return err
		}
		s.render(c, http.StatusOK, "guide", &uiPage{Title: g.Title + " — SCIM troubleshooting", Nav: "guides",
			Body: guideData{HTML: markdown(string(b)), Guides: idpGuides, Slug: slug}})
		return nil
	}
	return scimflow.Errorf(scimflow.ENOTFOUND, "there is no guide %q", slug)
}

var (
	mdLink   = regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+)\)`)
	mdCode   = regexp.MustCompile("`([^`]+)`")
	mdStrong = regexp.MustCompile(`\*\*([^*]+)\*\*`)
	mdOL     = regexp.MustCompile(`^\d+\. `)
)

// markdown renders the small subset of Markdown the guides use: ATX
// headings, paragraphs, bullet and numbered lists, fenced code blocks,
// inline code, bold and links. Text is escaped first, so a guide cannot
// inject markup; links are limited to http(s), relative and fragment URLs.
func markdown(src string) template.HTML {
	var out strings.Builder
	var para []string
	list := "" // "ul" or "ol" while in a list
	flushPara := func() {
		if len(para) > 0 {
			out.WriteString("<p>" + mdInline(strings.Join(para, " ")) + "</p>\n")
			para = nil
		}
	}
	closeList := func() {
		if list != "" {
			out.WriteString("</" + list + ">\n")
			list = ""
		}
	}
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "```"):
			flushPara()
			closeList()
			var code []string
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
				code = append(code, lines[i])
			}
			out.WriteString("<pre><code>" + template.HTMLEscapeString(strings.Join(code, "\n")) + "</code></pre>\n")
		case trimmed == "":
			flushPara()
			closeList()
		case strings.HasPrefix(trimmed, "#"):
			flushPara()
			closeList()
			level := len(trimmed) - len(strings.TrimLeft(trimmed, "#"))
			level = min(max(level, 1), 6)
			tag := "h" + string(rune('0'+level))
			out.WriteString("<" + tag + ">" + mdInline(strings.TrimSpace(trimmed[level:])) + "</" + tag + ">\n")
		case strings.HasPrefix(trimmed, "- ") || strings.HasPrefix(trimmed, "* ") || mdOL.MatchString(trimmed):
			flushPara()
			kind, text := "ul", strings.TrimSpace(trimmed[2:])
			if mdOL.MatchString(trimmed) {
				kind, text = "ol", mdOL.ReplaceAllString(trimmed, "")
			}
			if list != kind {
				closeList()
				out.WriteString("<" + kind + ">\n")
				list = kind
			}
			out.WriteString("<li>" + mdInline(text) + "</li>\n")
		case list != "" && strings.HasPrefix(line, "  "):
			// A continuation line of the previous list item.
			s := out.String()
			s = strings.TrimSuffix(s, "</li>\n") + " " + mdInline(trimmed) + "</li>\n"
			out.Reset()
			out.WriteString(s)
		default:
			closeList()
			para = append(para, trimmed)
		}
	}
	flushPara()
	closeList()
	return template.HTML(out.String())
}

// mdInline renders inline code, bold and links in escaped text. Code spans
// are cut out first so that their content is not formatted.
func mdInline(s string) string {
	var codes []string
	s = mdCode.ReplaceAllStringFunc(s, func(m string) string {
		codes = append(codes, "<code>"+template.HTMLEscapeString(m[1:len(m)-1])+"</code>")
		return "\x01" + strconv.Itoa(len(codes)-1) + "\x01"
	})
	s = template.HTMLEscapeString(s)
	s = mdStrong.ReplaceAllString(s, "<strong>$1</strong>")
	s = mdLink.ReplaceAllStringFunc(s, func(m string) string {
		p := mdLink.FindStringSubmatch(m)
		href := p[2]
		if !(strings.HasPrefix(href, "https://") || strings.HasPrefix(href, "http://") || strings.HasPrefix(href, "/") || strings.HasPrefix(href, "#")) {
			return m
		}
		return `<a href="` + href + `">` + p[1] + `</a>`
	})
	for i, c := range codes {
		s = strings.Replace(s, "\x01"+strconv.Itoa(i)+"\x01", c, 1)
	}
	return s
}
