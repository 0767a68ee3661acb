# frozen_string_literal: true

# What MemTrack::Rack costs inside a real Rails request (make bench, "ruby"):
#
#   ruby -Iruby/lib tools/companion-rails-cost.rb [requests]
#
# Loads the Rails test app (t/apps/rails, production, its sqlite database in
# a temporary directory) without the companion in its middleware, then
# calls GET /items (three queries, query cache on) through Rails alone and
# through MemTrack::Rack wrapped around it, interleaved one by one, and
# prints the median and p99 of each and of the difference in thread CPU
# microseconds. Unlike ruby/bench/cost.rb's trivial app, this includes what
# only Rails has: the ActiveRecord query cache and the controller names.
require "tmpdir"

N = Integer(ARGV[0] || 5_000)
ENV["MT_NO_MIDDLEWARE"] = "1"
ENV["RAILS_ENV"] = "production"
ENV["MT_APP_DATA"] = Dir.mktmpdir("mt-rails-cost-")
at_exit { FileUtils.remove_entry(ENV["MT_APP_DATA"]) }

require_relative "../t/apps/rails/config/environment"
require "memtrack/rack"
require "rack/mock"
require_relative "../ruby/bench/interleaved"

rails = Rails.application
with_mw = MemTrack::Rack.new(rails)
puts "Rails #{Rails.version}, GET /items, #{N} requests each, thread CPU time"
MemTrackBench.compare(
  "smaps every 100", rails, with_mw, N,
  env: -> { Rack::MockRequest.env_for("/items") },
  clock: Process::CLOCK_THREAD_CPUTIME_ID,
  finish: lambda do |(_status, _headers, body)|
    body.each { |_| nil }
    body.close if body.respond_to?(:close)
  end
)
warn "companion errors: #{with_mw.errors} (#{with_mw.last_error})" if with_mw.errors.positive?
