# frozen_string_literal: true

# No-code-change route: load this file before the app, e.g. under Passenger
#
#   SetEnv RUBYOPT "-r/path/to/memtrack-rack/lib/memtrack/preload"
#
# (Passenger hands SetEnv values to the app process as environment
# variables) and MemTrack::Rack is put in front of the app.
#
# How: every Rack server (Passenger's rack-loader, rackup, puma, unicorn)
# turns config.ru into an app with Rack::Builder#to_app, Rails included
# (`run Rails.application`). We prepend a hook to Rack::Builder that wraps
# the app returned by the outermost to_app (nested builders from `map` run
# inside it and are left alone), once per process. This file does not load
# rack itself, so it never activates a rack version other than the one the
# app (or Bundler) picks: if Rack::Builder is not defined yet, a TracePoint
# waits for its class body to open, prepends the hook and switches itself off.
#
# An app that also says `use MemTrack::Rack` is measured once: the inner
# instance sees env["memtrack.active"] and steps aside.
require_relative "rack"

module MemTrack
  module Preload
    @installed = false   # has an app been wrapped in this process?
    @hooked = false      # is the Builder hook in place?

    class << self
      attr_reader :installed, :hooked

      # Wrap app unless one app was wrapped already; never raises.
      def wrap(app)
        return app if @installed || app.nil?

        @installed = true
        MemTrack::Rack.new(app)
      rescue StandardError
        app
      end

      def hook(builder)
        return if @hooked

        builder.prepend(BuilderHook)
        @hooked = true
      end

      def watch
        if defined?(::Rack::Builder) && !::Rack.autoload?(:Builder)
          hook(::Rack::Builder)
          return
        end
        tp = TracePoint.new(:class) do |t|
          mod = t.self
          if mod.is_a?(Class) && mod.name == "Rack::Builder"
            hook(mod)
            t.disable
          end
        end
        tp.enable
      end
    end

    # Prepended to Rack::Builder.
    module BuilderHook
      def to_app
        depth = Thread.current[:memtrack_builder_depth] || 0
        Thread.current[:memtrack_builder_depth] = depth + 1
        app = super
        depth.zero? ? MemTrack::Preload.wrap(app) : app
      ensure
        Thread.current[:memtrack_builder_depth] = depth
      end
    end
  end
end

MemTrack::Preload.watch
