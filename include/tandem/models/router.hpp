// Router: each modality to its own module stack, as sentence-transformers' Router routes
// by modality: texts through the "text" route, images through the "image" route, so a
// BERT text tower and a CLIP vision tower, each with a Dense to a shared width, are one
// model. Parameters of route r are named "r.<i>.<...>" (module i of the route), the
// sub-folder r_<i>_<Class> that Router.save writes for it.
// reference: sentence_transformers.base.modules.Router (route by modality; router_config.json).
#pragma once

#include <tandem/models/sentence_transformer_stack.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <utility>

namespace tandem {

namespace detail {
enum class RouterFault { none, text_route, image_route, backends_differ, scalars_differ };

template <class TextRoute, class ImageRoute>
consteval RouterFault router_fault() {
    if constexpr (!TextEncoderModel<TextRoute>)
        return RouterFault::text_route;
    else if constexpr (!ImageEncoderModel<ImageRoute>)
        return RouterFault::image_route;
    else if constexpr (!std::same_as<typename TextRoute::backend_type, typename ImageRoute::backend_type>)
        return RouterFault::backends_differ;
    else if constexpr (!std::same_as<typename TextRoute::value_type, typename ImageRoute::value_type>)
        return RouterFault::scalars_differ;
    else
        return RouterFault::none;
}

// router_config.json's "types" and "structure" entries of one route, and its modules'
// configs under the same ids.
inline void describe_route(nlohmann::ordered_json& out, const std::string& route,
                           const nlohmann::ordered_json& modules) {
    out["structure"][route] = nlohmann::ordered_json::array();
    for (const auto& m : modules) {
        const std::string type = m.at("type").get<std::string>();
        const std::string id = route + "_" + m.at("name").get<std::string>() + "_" + st_class_name(type);
        out["types"][id] = type;
        out["structure"][route].push_back(id);
        if (m.contains("config")) out["configs"][id] = m.at("config");
    }
}
}  // namespace detail

// Reached only when a rule is broken: it states the rule in one sentence.
template <class TextRoute, class ImageRoute>
class Router {
    static constexpr auto fault = detail::router_fault<TextRoute, ImageRoute>();
    static_assert(fault != detail::RouterFault::text_route,
                  "Router: the text route must encode texts (a Module with encode_text(graph, TextBatch) "
                  "returning a Var)");
    static_assert(fault != detail::RouterFault::image_route,
                  "Router: the image route must encode images (a Module with encode_image(graph, Var) "
                  "returning a Var)");
    static_assert(fault != detail::RouterFault::backends_differ,
                  "Router: the text and image routes must use the same backend");
    static_assert(fault != detail::RouterFault::scalars_differ,
                  "Router: the text and image routes must use the same scalar type");

public:
    Router(TextRoute, ImageRoute) {}
};

template <class TextRoute, class ImageRoute>
requires(detail::router_fault<TextRoute, ImageRoute>() ==
         detail::RouterFault::none) class Router<TextRoute, ImageRoute> {
public:
    using backend_type = typename TextRoute::backend_type;
    using value_type = typename TextRoute::value_type;
    using B = backend_type;
    using T = value_type;
    static constexpr const char* text_route_name = "text";
    static constexpr const char* image_route_name = "image";

    // Every parameter of a route must be named under its route ("text." or "image.").
    Router(TextRoute text, ImageRoute image) : text_(std::move(text)), image_(std::move(image)) {
        check_route(text_, text_route_name);
        check_route(image_, image_route_name);
    }

    const TextRoute& text_route() const { return text_; }
    const ImageRoute& image_route() const { return image_; }

    // [batch, dim] from the route of the input's modality.
    Var<B, T> encode_text(Graph<B, T>& g, const TextBatch<B>& text) const {
        return text_.encode_text(g, text);
    }
    Var<B, T> encode_image(Graph<B, T>& g, const Var<B, T>& pixel_values) const {
        return image_.encode_image(g, pixel_values);
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        text_.for_each_parameter(f);
        image_.for_each_parameter(f);
    }

    // router_config.json as sentence-transformers writes it (types, structure, parameters),
    // plus "configs": the config.json of every module folder that has one, by module id.
    nlohmann::ordered_json describe() const requires requires(const TextRoute& t, const ImageRoute& i) {
        t.describe();
        i.describe();
    }
    {
        nlohmann::ordered_json out;
        out["types"] = nlohmann::ordered_json::object();
        out["structure"] = nlohmann::ordered_json::object();
        out["configs"] = nlohmann::ordered_json::object();
        detail::describe_route(out, text_route_name, text_.describe());
        detail::describe_route(out, image_route_name, image_.describe());
        // sentence-transformers stores the first route as the default when none is given.
        out["parameters"] = {{"default_route", text_route_name},
                             {"allow_empty_key", true},
                             {"route_mappings", nlohmann::ordered_json::object()}};
        return out;
    }

private:
    template <class Route>
    static void check_route(const Route& route, const std::string& name) {
        route.for_each_parameter([&](const std::string& p, Parameter) {
            if (!p.starts_with(name + "."))
                detail::throw_error("Router: the ", name, " route's parameter '", p,
                                    "' is not named under \"", name, ".\"");
        });
    }

    TextRoute text_;
    ImageRoute image_;
};

}  // namespace tandem
