# frozen_string_literal: true

Rails.application.routes.draw do
  resources :items, only: %i[index show]
  get "pid" => "items#pid"
  get "retain" => "items#retain"
  get "leak" => "items#leak"
  get "hoard" => "heap#hoard"
  get "bloat" => "heap#bloat"
  get "churn" => "heap#churn"
end
