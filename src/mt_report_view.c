/* mt_report_view: the finished analysis for the renderers, and the table
 * of extra sections. httpd-free; see include/mt_report_out.h. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "mt_report_out.h"

/* Results beyond the analysis (heap diffs, ...) are added here, one entry
 * each; the table ends with a NULL key. */
const mt_report_section_t mt_report_sections[] = {
    { NULL, NULL, NULL, NULL }
};

/* For each fleet endpoint, the servers that call it a leak themselves. */
static void leaks_by_server(mt_report_view_t *v, apr_pool_t *p)
{
    unsigned int s, i, j;

    v->leak_on = apr_pcalloc(p, (v->fleet->n_eps + 1)
                                * sizeof(const apr_array_header_t *));
    for (s = 0; s < v->r->n_servers; s++) {
        const mt_an_report_t *rep = v->servers[s];
        for (i = 0; rep && i < rep->n_eps; i++) {
            if (rep->eps[i].verdict != MT_VERDICT_LEAK) continue;
            for (j = 0; j < v->fleet->n_eps; j++) {
                if (strcmp(v->fleet->eps[j].name, rep->eps[i].name) != 0) {
                    continue;
                }
                if (!v->leak_on[j]) {
                    v->leak_on[j] = apr_array_make(p, 2, sizeof(const char *));
                }
                APR_ARRAY_PUSH((apr_array_header_t *)v->leak_on[j],
                               const char *) = v->r->servers[s].name;
                break;
            }
        }
    }
}

static const mt_report_t *sort_report;

static int by_name(const void *a, const void *b)
{
    return strcmp(sort_report->servers[*(const unsigned int *)a].name,
                  sort_report->servers[*(const unsigned int *)b].name);
}

apr_status_t mt_report_view(mt_report_view_t *v, mt_report_t *r,
                            const mt_report_source_t *src, unsigned int n,
                            apr_pool_t *p)
{
    apr_status_t rv;
    unsigned int i;

    memset(v, 0, sizeof(*v));
    v->r = r;
    v->src = src;
    v->n_src = n;
    v->pool = p;
    v->generated = apr_time_now();
    rv = mt_report_analysis(&v->fleet, &v->fleet_servers, r, -1, p);
    if (rv != APR_SUCCESS) return rv;
    v->servers = apr_pcalloc(p, (r->n_servers + 1) * sizeof(mt_an_report_t *));
    for (i = 0; i < r->n_servers; i++) {
        rv = mt_report_analysis(&v->servers[i], NULL, r, (int)i, p);
        if (rv != APR_SUCCESS) return rv;
    }
    leaks_by_server(v, p);
    v->order = apr_palloc(p, (r->n_servers + 1) * sizeof(*v->order));
    for (i = 0; i < r->n_servers; i++) v->order[i] = i;
    sort_report = r;
    qsort(v->order, r->n_servers, sizeof(*v->order), by_name);
    sort_report = NULL;
    return APR_SUCCESS;
}

apr_time_t mt_report_first(const mt_report_view_t *v)
{
    return v->r->fleet.records ? v->r->fleet.first : 0;
}

apr_time_t mt_report_last(const mt_report_view_t *v)
{
    return v->r->fleet.records ? v->r->fleet.last : 0;
}
