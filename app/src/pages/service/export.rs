//! A previewed or applied change as the files a repository would hold: the patch (copied or
//! downloaded), its kustomization entry and the kubectl line, for teams whose manifests live
//! in Git and change through a pull request.

use domain::scaling::RepositoryPatch;
use leptos::prelude::*;

/// `text` as a `data:` URL the download link saves.
fn data_url(text: &str) -> String {
    let mut out = String::from("data:application/yaml;charset=utf-8,");
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Puts `text` on the clipboard; `false` where the browser does not let the page.
fn copy(text: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        if let Some(window) = web_sys::window() {
            let _ = window.navigator().clipboard().write_text(text);
            return true;
        }
    }
    let _ = text;
    false
}

#[component]
pub fn RepositoryExport(patch: RepositoryPatch) -> impl IntoView {
    let copied = RwSignal::new(None::<bool>);
    let text = StoredValue::new(patch.patch.clone());
    view! {
        <details class="export" data-testid="repository-patch">
            <summary>"The change as a patch for the repository"</summary>
            <p class="panel-note">"Commit it beside the manifests and add the entry to the kustomization, so the change goes through your pull request and the repository agrees with the cluster."</p>
            <div class="export-file">
                <span class="mono">{patch.file_name.clone()}</span>
                <button type="button" class="button-quiet" on:click=move |_| copied.set(Some(text.with_value(|t| copy(t))))>"Copy"</button>
                <a class="button-quiet" download=patch.file_name.clone() href=data_url(&patch.patch)>"Download"</a>
                <span role="status" class="muted">{move || match copied.get() {
                    Some(true) => "Copied.",
                    Some(false) => "This browser does not let the page copy: select the text instead.",
                    None => "",
                }}</span>
            </div>
            <pre class="export-text" tabindex="0" aria-label="Patch file" data-testid="patch-text">{patch.patch.clone()}</pre>
            <pre class="export-text" tabindex="0" aria-label="Kustomization entry">{patch.kustomization.clone()}</pre>
            <p class="panel-note">"Or with kubectl: " <code class="mono">{patch.kubectl.clone()}</code></p>
        </details>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_download_carries_the_text_exactly() {
        assert_eq!(
            super::data_url("a: 1\n# ü"),
            "data:application/yaml;charset=utf-8,a%3A%201%0A%23%20%C3%BC"
        );
    }
}
