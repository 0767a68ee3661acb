/* mt_report_hdout: the heap diff results in memtrack-report's three
 * outputs, as the entry "heap_diffs" of mt_report_sections. httpd-free;
 * see include/mt_report_out.h and include/mt_report_hd.h.
 *
 * Each result is attached to its endpoint where the report's fleet has an
 * endpoint of that name (its verdict is shown with it, and in the HTML the
 * newest result of each such endpoint is one line beside its verdict,
 * through the status page's own mt_heapview_html_brief). The documents are
 * written by the module's writer (mt_heapview.c), so they come out as the
 * module writes them, whatever the input looked like. */
#include <string.h>
#include <apr_strings.h>

#include "mt_heapview.h"
#include "mt_report_out.h"
#include "mt_status.h"
#include "mt_status_html.h"

#define HD_TEXT_ROWS 5     /* groups per result in the text */

static const mt_an_endpoint_t *endpoint_of(const mt_report_view_t *v,
                                           const char *name)
{
    unsigned int i;

    for (i = 0; v->fleet && i < v->fleet->n_eps; i++) {
        if (strcmp(v->fleet->eps[i].name, name) == 0) return &v->fleet->eps[i];
    }
    return NULL;
}

static int shown(const mt_report_view_t *v)
{
    const mt_report_hds_t *s = v->heap_diffs;

    return s && (s->n || s->bad || s->left_out);
}

/* ---- text ---- */

static void text_row(mt_buf_t *b, const mt_heapdiff_row_t *r, apr_pool_t *p)
{
    const char *site = r->file[0]
        ? apr_psprintf(p, "%s%s:%" APR_INT64_T_FMT, r->file_cut ? "..." : "",
                       r->file, r->line) : "(untraced)";

    mt_buf_puts(b, "    ");
    mt_report_tx_col(b, r->class_name[0] ? r->class_name : r->type, 16, 0);
    mt_buf_putc(b, ' ');
    mt_report_tx_col(b, site, 38, 0);
    mt_report_tx_col(b, mt_report_tx_count(p, r->count), 9, 1);
    mt_report_tx_col(b, mt_report_tx_bytes(p, (double)r->bytes), 11, 1);
    mt_buf_putc(b, '\n');
}

static void text_one(mt_buf_t *b, const mt_report_view_t *v,
                     const mt_report_hd_t *hd)
{
    const mt_heapctl_result_t *r = &hd->res;
    const mt_an_endpoint_t *e = endpoint_of(v, r->a.endpoint_name);
    apr_pool_t *p = v->pool;
    int i;

    mt_buf_puts(b, "  ");
    mt_report_tx_col(b, r->a.endpoint_name, 50, 0);
    mt_buf_printf(b, "  %s\n", e ? apr_psprintf(p, "verdict %s",
                  mt_verdict_name(e->verdict)) : "not in these records");
    mt_buf_printf(b, "    process %d on ", r->a.pid);
    mt_report_tx_col(b, hd->server[0] ? hd->server : "-", 20, 0);
    mt_buf_printf(b, " %s ", mt_heapctl_outcome_name(r->a.outcome));
    if (mt_report_hd_when(hd)) mt_html_time(b, mt_report_hd_when(hd));
    else mt_buf_puts(b, "(time unknown)");
    mt_buf_putc(b, '\n');
    if (!r->diff.mode) {
        mt_buf_puts(b, "    ");
        mt_report_tx_col(b, r->a.message[0] ? r->a.message : "no diff", 74, 0);
        mt_buf_putc(b, '\n');
        return;
    }
    mt_buf_printf(b, "    kept %s objects, %s; top groups:\n",
                  mt_report_tx_count(p, r->diff.kept_objects),
                  mt_report_tx_bytes(p, (double)r->diff.kept_bytes));
    for (i = 0; i < r->diff.n_rows && i < HD_TEXT_ROWS; i++) {
        text_row(b, &r->diff.rows[i], p);
    }
}

void mt_report_hd_text(mt_buf_t *b, const mt_report_view_t *v)
{
    const mt_report_hds_t *s = v->heap_diffs;
    unsigned int i;

    if (!shown(v)) return;
    mt_report_tx_rule(b, "heap diffs, newest first");
    mt_buf_puts(b, "    ");
    mt_report_tx_col(b, "class", 16, 0);
    mt_buf_putc(b, ' ');
    mt_report_tx_col(b, "allocated at", 38, 0);
    mt_report_tx_col(b, "objects", 9, 1);
    mt_report_tx_col(b, "bytes", 11, 1);
    mt_buf_putc(b, '\n');
    for (i = 0; i < s->n; i++) {
        text_one(b, v, &s->items[i]);
    }
    if (s->n == 0) mt_buf_puts(b, "  none could be read\n");
    if (s->left_out || s->bad) {
        mt_buf_printf(b, "  (%" APR_INT64_T_FMT " older left out, %"
                      APR_INT64_T_FMT " bad documents skipped)\n",
                      s->left_out, s->bad);
    }
}

/* ---- JSON ---- */

static void json_one(mt_buf_t *b, const mt_report_view_t *v,
                     const mt_report_hd_t *hd)
{
    const mt_an_endpoint_t *e = endpoint_of(v, hd->res.a.endpoint_name);
    mt_buf_t doc;

    mt_buf_init(&doc, 4096, v->pool);
    mt_heapview_result_json(&doc, &hd->res);
    /* the document without its closing brace, then where it came from */
    mt_buf_add(b, doc.data, doc.len - 1);
    mt_buf_puts(b, ",\"source\":");
    mt_buf_json_str(b, hd->source);
    mt_buf_puts(b, ",\"server\":");
    mt_buf_json_str(b, hd->server[0] ? hd->server : NULL);
    mt_buf_puts(b, ",\"report_verdict\":");
    mt_buf_json_str(b, e ? mt_verdict_name(e->verdict) : NULL);
    mt_buf_putc(b, '}');
}

void mt_report_hd_json(mt_buf_t *b, const mt_report_view_t *v)
{
    const mt_report_hds_t *s = v->heap_diffs;
    unsigned int i;

    mt_buf_putc(b, '[');
    for (i = 0; s && i < s->n; i++) {
        if (i) mt_buf_putc(b, ',');
        json_one(b, v, &s->items[i]);
    }
    mt_buf_printf(b, "],\"heap_diffs_left_out\":%" APR_INT64_T_FMT
                  ",\"heap_diffs_bad\":%" APR_INT64_T_FMT,
                  s ? s->left_out : 0, s ? s->bad : 0);
}

/* ---- HTML ---- */

void mt_report_hd_html(mt_buf_t *b, const mt_report_view_t *v)
{
    const mt_report_hds_t *s = v->heap_diffs;
    unsigned int i;

    if (!shown(v)) return;
    mt_buf_puts(b, "<h2 id=\"heapdiffs\">Heap diffs</h2>\n<div class=\"ev\">"
                "What a leaking endpoint's requests kept: objects born "
                "between snapshot 1 and 2 of one process and still alive at "
                "3, by class and where they were allocated, most bytes "
                "first; newest result first.</div>\n");
    for (i = 0; i < s->n; i++) {
        const mt_report_hd_t *hd = &s->items[i];
        const mt_an_endpoint_t *e = endpoint_of(v, hd->res.a.endpoint_name);
        mt_buf_puts(b, "<div class=\"ev\">");
        if (e) {
            mt_buf_puts(b, "the report's verdict ");
            mt_html_badge(b, e->verdict);
        }
        else {
            mt_buf_puts(b, "an endpoint not in these records");
        }
        mt_buf_puts(b, " &middot; server <span class=\"name\">");
        mt_buf_html(b, hd->server[0] ? hd->server : "-");
        mt_buf_puts(b, "</span> &middot; from <span class=\"name\">");
        mt_buf_html(b, hd->source);
        mt_buf_puts(b, "</span></div>");
        mt_heapview_html_result(b, &hd->res);
    }
    mt_buf_printf(b, "<div class=\"ev\">%u shown, %" APR_INT64_T_FMT
                  " older left out, %" APR_INT64_T_FMT " bad documents "
                  "skipped.</div>\n", s->n, s->left_out, s->bad);
}

/* The newest result of each endpoint (up to MT_HEAPCTL_RESULTS), for the
 * line beside its verdict; NULL when there is none. */
const mt_heapctl_view_t *mt_report_hd_brief(const mt_report_view_t *v)
{
    const mt_report_hds_t *s = v->heap_diffs;
    mt_heapctl_view_t *hv;
    unsigned int i;

    if (!s || !s->n) return NULL;
    hv = apr_pcalloc(v->pool, sizeof(*hv));
    for (i = 0; i < s->n && hv->n_results < MT_HEAPCTL_RESULTS; i++) {
        const mt_heapctl_result_t *r = &s->items[i].res;
        if (!mt_heapview_latest(hv, r->a.endpoint_name)) {
            hv->results[hv->n_results++] = *r;
        }
    }
    return hv;
}
