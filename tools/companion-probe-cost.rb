# frozen_string_literal: true

# What one companion probe costs in a Rails process of a given size:
#
#   ruby -Iruby/lib tools/companion-probe-cost.rb [MB ...]   (default 100 300)
#
# Loads the Rails test app (t/apps/rails, production, its sqlite database in
# a temporary directory), then for each size grows the process with a
# ballast shaped like an app's own data (records of a hash, three strings,
# an array and a time: about six objects and 300 bytes each) until its RSS
# reaches that many MB, and probes GET /items through MemTrack::Rack: each
# probe is one request that asks for it and the next one that reports it.
# Printed per size: live objects, heap pages, RSS, and the median and p90 of
# probe_us (both full GCs and snapshots), of one full GC alone, and of one
# malloc statistics read (mallinfo2 and malloc_info). Not a throughput run:
# a few dozen requests, one at a time.
require_relative "rails-cost-app"
require "fiddle"

PROBES = 15

def timed(n)
  Array.new(n) do
    t = now_us
    yield
    now_us - t
  end.sort
end

def pct(sorted, q)
  sorted[[(sorted.size * q).ceil - 1, 0].max]
end

def fmt(sorted)
  format("%8.0f / %8.0f", pct(sorted, 0.5), pct(sorted, 0.9))
end

mw = MemTrack::Rack.new(Rails.application, smaps_every: 0, probe_budget: 1.0)
readers = {}
{ "mallinfo2" => MemTrack::MallocStats::Mallinfo2,
  "malloc_info" => MemTrack::MallocStats::MallocInfo }.each do |name, klass|
  readers[name] = klass.new
rescue StandardError => e
  warn "#{name}: #{e.message}"
end
puts "Rails #{Rails.version}, ruby #{RUBY_VERSION}, GET /items, #{PROBES} probes per size, " \
     "microseconds median / p90"
token = 0
SIZES.each do |mb|
  grow_to(mb)
  5.times { request(mw, "/items") }
  probe_us = Array.new(PROBES) do
    token += 1
    request(mw, "/items", "probe=#{token}; ps=1000")
    request(mw, "/items")[/probe_us=(\d+)/, 1].to_i
  end.sort
  gc = timed(5) { GC.start(full_mark: true, immediate_sweep: true) }
  reads = readers.map { |name, r| "#{name} #{fmt(timed(200) { r.in_use })}" }
  printf("%4d MB target: rss %.0f MB, %d live objects, %d heap pages\n", mb, rss_mb,
         GC.stat(:heap_live_slots), GC.stat(:heap_allocated_pages))
  puts "  probe (2 full GCs + snapshots) #{fmt(probe_us)}"
  puts "  one full GC                    #{fmt(gc)}"
  reads.each { |r| puts "  #{r}" }
end
warn "companion errors: #{mw.errors} (#{mw.last_error})" if mw.errors.positive?
