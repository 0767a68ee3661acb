/* mt_report_html: placeholder, replaced below. */
#include "mt_report_out.h"

void mt_report_html(mt_buf_t *b, const mt_report_view_t *v)
{
    (void)v;
    mt_buf_puts(b, "<!DOCTYPE html><html></html>\n");
}
