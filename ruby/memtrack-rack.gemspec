# frozen_string_literal: true

require_relative "lib/memtrack/version"

Gem::Specification.new do |s|
  s.name        = "memtrack-rack"
  s.version     = MemTrack::VERSION
  s.summary     = "Companion of mod_memtrack: per-request memory and GC report header"
  s.description = "A Rack middleware (MemTrack::Rack) that answers every request " \
                  "with an X-MemTrack header: the process id, its resident memory " \
                  "and GC counters before and after the request, Rails controller, " \
                  "action and query cache size. Apache's mod_memtrack reads the " \
                  "header, strips it and attributes the request to the app process."
  s.authors     = ["mod_memtrack authors"]
  s.license     = "Apache-2.0"
  s.metadata    = { "rubygems_mfa_required" => "true" }
  s.required_ruby_version = ">= 2.6"
  s.files = Dir.chdir(__dir__) do
    Dir["lib/**/*.rb"] + ["README.md", "memtrack-rack.gemspec"]
  end
  s.require_paths = ["lib"]
end
