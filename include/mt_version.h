/* mt_version: the version of mod_memtrack (the module and its core), as
 * the status page and the metrics report it. The companion gem keeps its
 * own (ruby/lib/memtrack/version.rb); they move together. */
#ifndef MT_VERSION_H
#define MT_VERSION_H

#define MEMTRACK_VERSION "0.1.0"

#endif
