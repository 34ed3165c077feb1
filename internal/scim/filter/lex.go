package filter

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits that keep a hostile filter cheap to reject. Real filters sent by
// identity providers are a few hundred bytes and nest two or three levels.
const (
	maxLen   = 4096 // bytes
	maxDepth = 32   // parentheses and brackets
)

type kind int

const (
	kWord   kind = iota // attribute path, operator, keyword, number, true/false/null
	kString             // JSON string literal
	kLParen
	kRParen
	kLBrack
	kRBrack
)

// A token is a lexical unit of a filter. Positions are byte offsets into the
// original input so that every error can point at what the client wrote.
type token struct {
	kind kind
	text string // as written
	pos  int
	str  string // unescaped value of a kString
}

func (t token) end() int { return t.pos + len(t.text) }

// syntaxError is a parse error at a byte offset of the input, or -1 for
// the input as a whole. Parse and ParsePath turn it into a *scimflow.Error
// with a character position (see message).
type syntaxError struct {
	pos int
	msg string
}

func errorf(pos int, format string, args ...any) *syntaxError {
	return &syntaxError{pos: pos, msg: fmt.Sprintf(format, args...)}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isDelim(c byte) bool {
	return isSpace(c) || c == '(' || c == ')' || c == '[' || c == ']' || c == '"'
}

// lex splits s into tokens. It decodes string literals as JSON strings (RFC
// 7644 §3.4.2.2: "String literals MUST be valid JSON strings"), checks that
// brackets pair up without nesting and bounds the nesting depth; everything
// else is left to the grammar.
func lex(s string) ([]token, *syntaxError) {
	var (
		toks    []token
		depth   int
		bracket = -1 // position of the open '[', -1 outside brackets
	)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isSpace(c):
			i++
			continue
		case c == '"':
			t, err := lexString(s, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i = t.end()
			continue
		case c == '(' || c == '[':
			if c == '[' {
				if bracket >= 0 {
					return nil, errorf(i, "nested brackets are not allowed")
				}
				bracket = i
			}
			if depth++; depth > maxDepth {
				return nil, errorf(i, "filter is nested too deeply (more than %d levels)", maxDepth)
			}
		case c == ')' || c == ']':
			if c == ']' {
				if bracket < 0 {
					return nil, errorf(i, `unexpected "]"`)
				}
				bracket = -1
			}
			depth = max(depth-1, 0)
		default:
			j := i
			for j < len(s) && !isDelim(s[j]) {
				j++
			}
			toks = append(toks, token{kind: kWord, text: s[i:j], pos: i})
			i = j
			continue
		}
		toks = append(toks, token{kind: punct(c), text: s[i : i+1], pos: i})
		i++
	}
	if bracket >= 0 {
		return nil, errorf(bracket, `missing "]" for this "["`)
	}
	return toks, nil
}

func punct(c byte) kind {
	switch c {
	case '(':
		return kLParen
	case ')':
		return kRParen
	case '[':
		return kLBrack
	}
	return kRBrack
}

// lexString reads the string literal that starts at s[start] == '"'. It
// validates the escapes itself, so that the error names the exact position,
// and leaves the decoding to encoding/json, which accepts lower-case \u
// escapes and surrogate pairs.
func lexString(s string, start int) (token, *syntaxError) {
	for i := start + 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			raw := s[start : i+1]
			var v string
			if err := json.Unmarshal([]byte(raw), &v); err != nil {
				return token{}, errorf(start, "invalid string literal")
			}
			return token{kind: kString, text: raw, pos: start, str: v}, nil
		case c < 0x20:
			return token{}, errorf(i, "control character %U in string (use a JSON escape)", rune(c))
		case c == '\\':
			if err := checkEscape(s, i); err != nil {
				return token{}, err
			}
			i++ // skip the escaped character; \u digits are plain characters
		}
	}
	return token{}, errorf(start, "unterminated string")
}

func checkEscape(s string, i int) *syntaxError {
	if i+1 >= len(s) {
		return nil // reported as an unterminated string
	}
	switch s[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return nil
	case 'u':
		if i+6 <= len(s) && isHex(s[i+2:i+6]) {
			return nil
		}
		return errorf(i, `invalid escape in string: \u needs four hex digits`)
	}
	r, _ := utf8.DecodeRuneInString(s[i+1:])
	return errorf(i, `invalid escape \%c in string`, r)
}

func isHex(s string) bool {
	return strings.Trim(s, "0123456789abcdefABCDEF") == ""
}

// describe names a token, or the end of the input, in an error message.
func describe(t *token) string {
	switch {
	case t == nil:
		return "end of input"
	case t.kind == kString:
		return "string " + t.text
	default:
		return fmt.Sprintf("%q", t.text)
	}
}
